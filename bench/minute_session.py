"""The session the minute-latency benchmark replays: its ticks, the clock they are read from, and
the history before it that warms the indicators."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pandas as pd

SESSION = "2020-12-01"
HISTORY = ("2020-11-27", "2020-11-30")  # 600 bars before the session: the indicators' warm-up
FIRST_TICK = pd.Timestamp(f"{SESSION} 10:00", tz="America/New_York")
PROBE_TICKS = tuple(FIRST_TICK - pd.Timedelta(minutes=m) for m in (3, 2, 1))
CONTRACT_STEPS = ("raw_bars", "validated_bars", "features", "dual_ticker_bars")


def tick_plan(counts: dict[str, int]) -> list[tuple[str, pd.Timestamp]]:
    """(variant, tick) after FIRST_TICK, one minute apart; each variant's ticks spread evenly over
    the replay, so drift on the machine hits all alike."""
    order = sorted(
        ((i + 0.5) / n, rank, variant)
        for rank, (variant, n) in enumerate(counts.items())
        for i in range(n)
    )
    return [
        (variant, FIRST_TICK + pd.Timedelta(minutes=k + 1))
        for k, (_, _, variant) in enumerate(order)
    ]


def set_clock(clock_file: Path, tick: pd.Timestamp, simulators) -> None:
    for simulator in simulators:
        simulator.set_now(tick)
    staged = clock_file.with_suffix(".tmp")  # replaced whole: sensors read it at any moment
    staged.write_text(json.dumps({"tick": tick.tz_convert("UTC").isoformat(), "wall": time.time()}))
    os.replace(staged, clock_file)


def backfill_history(tick: pd.Timestamp) -> None:
    """The sessions before the replayed one, through the real assets in process (setup, untimed)."""
    import dagster as dg

    from dual_ticker.clock import FixedClock
    from dual_ticker.definitions import ASSETS, build_resources
    from dual_ticker.settings import load_settings

    result = dg.materialize(
        ASSETS,
        selection=list(CONTRACT_STEPS),
        run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}},
        tags={
            "dagster/asset_partition_range_start": HISTORY[0],
            "dagster/asset_partition_range_end": HISTORY[1],
        },
        resources=build_resources(load_settings(), FixedClock(tick)),
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    if not result.success:
        raise RuntimeError(
            "the history backfill before the replayed session failed; see the log above"
        )
