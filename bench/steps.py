"""How `python -m bench` runs each benchmark: a module in its own process writing JSON, and the
lead's year backfill, pipeline and naive, each in a child process on a fresh database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from dual_ticker.settings import PROJECT_ROOT


def run_module(module: str, args: list[str], out: Path) -> dict:
    """`python -m module ARGS --json out` in its own process; progress goes to our stderr."""
    command = [sys.executable, "-m", module, *args, "--json", str(out)]
    began = time.perf_counter()
    subprocess.run(
        command,
        cwd=PROJECT_ROOT,
        check=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "PYTHONWARNINGS": "ignore"},
    )
    return {**json.loads(out.read_text()), "wall_seconds": round(time.perf_counter() - began, 1)}


def run_backfill() -> dict:
    """The lead's benchmark as it is: pipeline and naive, each a child process on its own fresh
    database (same embedded server, private home), after write_year."""
    from bench.memory import run_child, year_databases

    began, result = time.perf_counter(), {"benchmark": "backfill"}
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "PYTHONWARNINGS": "ignore"}
    with year_databases("pipeline", "naive") as (urls, replay):
        for mode in ("pipeline", "naive"):
            child = run_child(["-m", "bench.backfill", mode, urls[mode], str(replay)], env)
            result[mode] = {
                **json.loads(child.pop("stdout").strip().splitlines()[-1]),
                "child": child,
            }
            print(f"backfill {mode}: {result[mode]['seconds']} s", file=sys.stderr, flush=True)
    result["ratio_naive_to_pipeline"] = round(
        result["naive"]["seconds"] / result["pipeline"]["seconds"], 2
    )
    result["wall_seconds"] = round(time.perf_counter() - began, 1)
    return result
