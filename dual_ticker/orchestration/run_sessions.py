"""The run's sessions and their as_of, computed once when the run starts and handed to every step."""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg
import pandas as pd

from dual_ticker.calendar.as_of import AS_OF_TAG
from dual_ticker.calendar.windows import run_windows, session_keys
from dual_ticker.clock import Clock
from dual_ticker.quality.rules import Window
from dual_ticker.settings import Settings

PARTITION_TAG = "dagster/partition"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


@dataclass(frozen=True)
class RunSessions:
    windows: dict[str, Window]
    live: bool  # a scheduled tick inside the session: freshness is judged

    @property
    def keys(self) -> list[str]:
        return list(self.windows)

    @property
    def as_of(self) -> pd.Timestamp:
        return max(window.as_of for window in self.windows.values())


def partition_keys(tags: dict[str, str]) -> list[str]:
    if PARTITION_TAG in tags:
        return [tags[PARTITION_TAG]]
    if RANGE_START_TAG in tags:
        return session_keys(tags[RANGE_START_TAG], tags[RANGE_END_TAG])
    raise dg.Failure("the run names no session: materialize a partition or a partition range")


def for_run(tags: dict[str, str], settings: Settings, clock: Clock) -> RunSessions:
    windows = run_windows(
        partition_keys(tags),
        clock.now(),
        tags.get(AS_OF_TAG),
        settings.data.bar_size,
        settings.data.max_bars_per_test,
        settings.feeds.delay_minutes,
    )
    live = AS_OF_TAG in tags and all(w.as_of < w.closed for w in windows.values())
    return RunSessions(windows, live)


def run_sessions_resource(settings: Settings, clock: Clock) -> dg.ResourceDefinition:
    """Built once per run (per process) from the run's tags; every step reads the same windows."""

    @dg.resource(description="The run's NYSE sessions with their as_of (tick or close).")
    def run_sessions(init_context: dg.InitResourceContext) -> RunSessions:
        run = init_context.dagster_run
        if run is None:  # built outside a run (a sensor's resources): no sessions
            return RunSessions({}, False)
        return for_run(dict(run.tags), settings, clock)

    return run_sessions
