"""Benchmark 3: the monitoring sidecar's /monitoring/metrics under load with a year of history, and
its scrape cost as history grows, beside a naive history-scanning scrape in the same run.

History: a year of both symbols through the lead's pipeline path (`python -m bench.backfill
pipeline`), plus SQL-made history of what a year of minute runs leaves behind (feed requests,
quality failures, alerts, Dagster runs). A month is the same database cut to January; empty is
just migrated. The sidecar runs as a real process (`python -m dual_ticker.monitoring`).

    python -m bench.sidecar [--rate 100] [--seconds 30] [--scrapes 200] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
import warnings
from contextlib import ExitStack
from pathlib import Path

from bench.databases import create_database, execute, with_database
from bench.load import open_loop
from bench.scrape_cost import connect_cost, naive_scrape, sequential_scrapes
from bench.sidecar_process import process_stats, sidecar
from bench.year_history import count_history, cut_to_month, fill_year


def run_benchmark(rate: float, seconds: float, scrapes: int, keep: bool) -> dict:
    from bench.year_data import write_year
    from dual_ticker.storage import embedded
    from dual_ticker.storage.migrations import apply_migrations

    home = Path(tempfile.mkdtemp(prefix="dt-bench-sidecar-"))
    os.environ.pop("DUAL_TICKER_DATABASE_URL", None)
    os.environ["DUAL_TICKER_HOME"] = str(home)
    os.environ["PYTHONWARNINGS"] = "ignore"
    with ExitStack() as stack:
        if not keep:
            stack.callback(shutil.rmtree, home, ignore_errors=True)
        admin = with_database(embedded.start(home), "postgres")
        stack.callback(embedded.stop, home)
        urls = {}
        for name in ("empty", "year"):
            urls[name] = create_database(admin, f"bench_{name}")
            apply_migrations(urls[name])
        rows = write_year(home / "replay")
        began = time.perf_counter()
        backfill = fill_year(urls["year"], home / "replay")
        fill_seconds = time.perf_counter() - began
        urls["month"] = create_database(admin, "bench_month", template="bench_year")
        cut_to_month(urls["month"])
        sizes, history = {}, {}
        for name in ("empty", "month", "year"):
            history[name] = count_history(urls[name], with_runs=name != "empty")
            with sidecar(urls[name], home) as (_, port):
                sizes[name] = {
                    "sidecar_scrape_ms": sequential_scrapes(port, scrapes),
                    "naive_scrape_ms": naive_scrape(urls[name], 20) if name != "empty" else None,
                }
            print(
                f"{name}: scrape p50 {sizes[name]['sidecar_scrape_ms']['p50']} ms",
                file=sys.stderr,
                flush=True,
            )
        with sidecar(urls["year"], home) as (process, port):
            asyncio.run(open_loop(port, rate, 5))  # warm-up at the same rate, not counted
            before = process_stats(process.pid)
            load = asyncio.run(open_loop(port, rate, seconds))
            after = process_stats(process.pid)
        server = execute(urls["empty"], ["SHOW server_version"])[0][0][0]
        connect = connect_cost(urls["year"])
    load["sidecar_vm_hwm_mb"] = after["vm_hwm_mb"]
    load["sidecar_cpu_ms_per_request"] = round(
        (after["cpu_seconds"] - before["cpu_seconds"]) * 1000 / max(1, load["answered"]), 2
    )
    year, empty = (
        sizes["year"]["sidecar_scrape_ms"]["p50"],
        sizes["empty"]["sidecar_scrape_ms"]["p50"],
    )
    return {
        "benchmark": "sidecar",
        "rate": rate,
        "seconds": seconds,
        "scrapes_per_size": scrapes,
        "year_rows_written": rows,
        "year_fill": {"seconds": round(fill_seconds, 1), "backfill": backfill},
        "history": history,
        "scrape_cost": sizes,
        "scrape_ratio_year_to_empty": round(year / empty, 2),
        "naive_ratio_year_to_month": round(
            sizes["year"]["naive_scrape_ms"]["p50"] / sizes["month"]["naive_scrape_ms"]["p50"], 1
        ),
        "load": load,
        "connect_ms": connect,
        "postgres_server_version": server,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=100, help="requests per second (open loop)")
    parser.add_argument("--seconds", type=float, default=30, help="length of the measured load")
    parser.add_argument(
        "--scrapes", type=int, default=200, help="sequential scrapes per history size"
    )
    parser.add_argument("--json", type=Path, help="write the result here (default: stdout)")
    parser.add_argument(
        "--keep", action="store_true", help="keep the private home (logs) afterwards"
    )
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    result = run_benchmark(args.rate, args.seconds, args.scrapes, args.keep)
    text = json.dumps(result, indent=1)
    if args.json:
        args.json.write_text(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
