"""How `python -m bench` runs each benchmark: a module in its own process writing JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
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
    """`python -m bench.backfill`: the CLI over a year and five years, the naive script, the data
    functions and the COPY floor, each on a fresh database of the machine's PostgreSQL."""
    with tempfile.TemporaryDirectory(prefix="dt-bench-backfill-") as folder:
        return run_module("bench.backfill", [], Path(folder) / "backfill.json")
