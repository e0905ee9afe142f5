"""The floor under a run worker, measured in child processes: interpreter start, imports of
Dagster, of the code location and of the fallback feed, and the asset graph cold and warm."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pandas as pd

from bench.minute_session import PROBE_TICKS, SESSION
from dual_ticker.settings import PROJECT_ROOT

FALLBACK_FEED = "dual_ticker.feeds.yahoo"  # imports yfinance
RUN_IMPORTS = "dual_ticker.definitions, dual_ticker.feeds.alpha_vantage"  # a run's own, before it


def graph_in_process(ticks: list[str]) -> None:
    """Prints the graph's in-process duration for each tick in this (fresh) process: the first
    pays every first-use cost (lazy imports, caches), later ones what a warm worker would pay;
    and whether the runs imported the Yahoo fallback although the primary served them."""
    import dagster as dg

    from dual_ticker.calendar.as_of import AS_OF_TAG
    from dual_ticker.clock import FixedClock
    from dual_ticker.definitions import ASSETS, build_resources
    from dual_ticker.settings import load_settings

    settings, instance, timings = load_settings(), dg.DagsterInstance.ephemeral(), []
    for tick in map(pd.Timestamp, ticks):
        began = time.perf_counter()
        result = dg.materialize(
            ASSETS,
            partition_key=SESSION,
            tags={AS_OF_TAG: tick.isoformat()},
            resources=build_resources(settings, FixedClock(tick)),
            instance=instance,
            run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}},
        )
        timings.append(round(time.perf_counter() - began, 3) if result.success else None)
    print(json.dumps({"seconds": timings, "fallback_imported": FALLBACK_FEED in sys.modules}))


def process_floor() -> dict:
    """What a new run-worker process costs before it runs anything (interpreter + code import),
    the steps in a cold process against a warm one, and whether a run the primary serves pays
    for the fallback feed's import (and how much that import costs)."""
    env = os.environ.copy()

    def timed(code: str) -> float:
        best = float("inf")
        for _ in range(3):
            began = time.perf_counter()
            subprocess.run(
                [sys.executable, "-c", code],
                env=env,
                cwd=PROJECT_ROOT,
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            best = min(best, time.perf_counter() - began)
        return round(best, 3)

    def import_seconds(module: str, after: str) -> float:
        """Best of 3 of importing `module` in a child that has already imported `after`."""
        code = f"import time, {after}; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
        best = float("inf")
        for _ in range(3):
            done = subprocess.run(
                [sys.executable, "-c", code],
                env=env,
                cwd=PROJECT_ROOT,
                check=True,
                capture_output=True,
                text=True,
            )
            best = min(best, float(done.stdout.strip().splitlines()[-1]))
        return round(best, 3)

    def graph(ticks) -> dict:
        code = f"from bench.process_floor import graph_in_process as g; g({[t.isoformat() for t in ticks]!r})"
        done = subprocess.run(
            [sys.executable, "-c", code],
            env=env,
            cwd=PROJECT_ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
        return json.loads(done.stdout.strip().splitlines()[-1])

    graph(PROBE_TICKS[:1])  # opens the session (from 09:30): the next two fetch one bar each
    probe = graph(PROBE_TICKS[1:])
    cold, warm = probe["seconds"]
    return {
        "python_start": timed("pass"),
        "import_dagster": timed("import dagster"),
        "import_code_location": timed("import bench.multiprocess_definitions"),
        "graph_cold_process": cold,
        "graph_warm_process": warm,
        "run_imports_fallback_feed": probe["fallback_imported"],
        "import_fallback_feed": import_seconds(FALLBACK_FEED, RUN_IMPORTS),
    }
