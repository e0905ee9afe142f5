"""`python -m bench [--quick]` (= `make bench`): the four benchmarks of issue 8 in order, each in its
own process, then docs/BENCHMARKS.md rewritten with the tables, the machine and the commands.

1. minute latency (bench.minute_latency)   2. year backfill throughput (the lead's bench.backfill,
pipeline and naive, each in a fresh database)   3. monitoring sidecar (bench.sidecar)
4. peak memory (bench.memory)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

from bench.machine import machine
from bench.report import render
from bench.steps import run_backfill, run_module
from dual_ticker.clock import SYSTEM_CLOCK
from dual_ticker.settings import PROJECT_ROOT

PY = "PYTHONPATH=. .venv/bin/python"
FULL = {
    "minute": ["--ticks", "30", "--latency-ticks", "30"],
    "sidecar": ["--seconds", "30", "--scrapes", "200"],
}
QUICK = {
    "minute": ["--ticks", "3", "--latency-ticks", "2"],
    "sidecar": ["--seconds", "10", "--scrapes", "50"],
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="fewer ticks, shorter load (under ~10 minutes)"
    )
    parser.add_argument("--output", type=Path, default=PROJECT_ROOT / "docs" / "BENCHMARKS.md")
    parser.add_argument(
        "--results", type=Path, help="folder for the raw JSON (default: a temporary one)"
    )
    parser.add_argument(
        "--render",
        type=Path,
        metavar="REPORT_JSON",
        help="only rewrite the file from a saved report.json",
    )
    parser.add_argument(
        "--reuse",
        action="append",
        default=[],
        metavar="NAME=JSON",
        help="take benchmark NAME's result from the JSON its module wrote (--json) instead of "
        "running it again, e.g. minute=results/minute.json after a quiet-hour minute run",
    )
    args = parser.parse_args(argv)
    if args.render:
        args.output.write_text(render(json.loads(args.render.read_text())))
        return 0
    options = QUICK if args.quick else FULL
    reused = {}
    for item in args.reuse:
        name, _, path = item.partition("=")
        if name not in options and name not in ("backfill", "memory"):
            parser.error(f"--reuse {item}: NAME is one of minute, backfill, sidecar, memory")
        try:
            reused[name] = json.loads(Path(path).read_text())
        except (OSError, ValueError) as error:
            parser.error(f"--reuse {item}: cannot read the result ({error}); give a --json file")
    results_dir = args.results or Path(tempfile.mkdtemp(prefix="dt-bench-results-"))
    results_dir.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    report = {
        "quick": args.quick,
        "date": SYSTEM_CLOCK.now().strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "load_before": [round(x, 2) for x in os.getloadavg()],
        "commands": {
            "minute": f"{PY} -m bench.minute_latency {' '.join(options['minute'])}",
            "backfill": f"{PY} -m bench.backfill",
            "sidecar": f"{PY} -m bench.sidecar {' '.join(options['sidecar'])}",
            "memory": f"{PY} -m bench.memory",
        },
        "results": {},
        "errors": {},
        "reused": {
            name: str(Path(path)) for name, _, path in (r.partition("=") for r in args.reuse)
        },
    }
    steps = {
        "minute": lambda: run_module(
            "bench.minute_latency", options["minute"], results_dir / "minute.json"
        ),
        "backfill": run_backfill,
        "sidecar": lambda: run_module(
            "bench.sidecar", options["sidecar"], results_dir / "sidecar.json"
        ),
        "memory": lambda: run_module("bench.memory", [], results_dir / "memory.json"),
    }
    for name, step in steps.items():
        if name in reused:
            print(f"== {name}: reused from {report['reused'][name]}", file=sys.stderr, flush=True)
            report["results"][name] = reused[name]
            continue
        print(f"== {name}: {report['commands'][name]}", file=sys.stderr, flush=True)
        try:
            report["results"][name] = step()
        except Exception as error:  # one failed benchmark is reported; the others still run
            traceback.print_exc()
            report["errors"][name] = f"{type(error).__name__}: {str(error)[-500:]}"
    report["load_after"] = [round(x, 2) for x in os.getloadavg()]
    report["total_seconds"] = round(time.perf_counter() - began, 1)
    (results_dir / "report.json").write_text(json.dumps(report, indent=1))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(render(report))
    print(
        f"wrote {args.output} (raw results in {results_dir}) in {report['total_seconds']} s",
        file=sys.stderr,
    )
    return 1 if report["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
