"""Benchmark 2: the year backfill as users run it, beside what it could cost. In one run, each on
a fresh database: the real `dagster asset materialize` command over the year (the headline) and
over five years (memory flat?), the year as a UI backfill through the daemon, the naive pandas script, the data functions alone, and the floor
(`COPY` of the same rows into the two indexed tables); the targets of issue 13 with PASS/MISS.

    python -m bench.backfill [--server local|embedded] [--years 1|5] [--no-ui] [--json OUT]

(`python -m bench.backfill pipeline|naive URL REPLAY_DIR` still runs one child: bench.backfill_data.)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
import warnings
from contextlib import contextmanager
from pathlib import Path

from bench import backfill_data
from bench.backfill_cli import run_cli
from bench.backfill_floor import copy_floor
from bench.backfill_targets import targets
from bench.databases import execute, with_database
from bench.measured_process import python_child
from bench.year_data import YEAR, write_year

LOCAL_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
FIVE_YEARS = ("2015-01-02", YEAR[1])


@contextmanager
def fresh_database(admin: str, kind: str, migrated: bool):
    """A new database on the server (the project's migrations applied or not), dropped after."""
    from dual_ticker.storage.migrations import apply_migrations

    name = f"bench_backfill_{kind}_{uuid.uuid4().hex[:8]}"
    execute(admin, [f'CREATE DATABASE "{name}"'], autocommit=True)
    url = with_database(admin, name)
    try:
        if migrated:
            apply_migrations(url)
        yield url
    finally:
        execute(admin, [f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'], autocommit=True)


@contextmanager
def server(kind: str, home: Path):
    """The admin URL of the machine's PostgreSQL, or of an embedded one started under home."""
    if kind == "local":
        yield LOCAL_SERVER
        return
    from dual_ticker.storage import embedded

    try:
        yield with_database(embedded.start(home), "postgres")
    finally:
        embedded.stop(home)


def child(module_args: list[str], env: dict) -> dict:
    """A `python -m ...` child, start to exit: its JSON line, wall seconds and peak RSS."""
    done = python_child(module_args, env)
    # its last JSON line: a code server may log after it
    reported = json.loads(
        next(line for line in reversed(done.output.splitlines()) if line.startswith("{"))
    )
    figures = {"seconds": done.wall_seconds, "cpu_seconds": done.cpu_seconds}
    return {**reported, "child": {**figures, "peak_rss_mb": done.peak_rss_mb}}


def measure(server_kind: str, years: int, ui: bool = True) -> dict:
    home = Path(tempfile.mkdtemp(prefix="dt-bench-backfill-"))
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "DUAL_TICKER_HOME": str(home)}
    env.pop("DAGSTER_HOME", None)
    result = {"benchmark": "backfill", "server": server_kind, "load_before": _load()}
    try:
        with server(server_kind, home) as admin:
            result["postgres_version"] = execute(admin, ["SHOW server_version"])[0][0][0]
            result["rows"] = write_year(home / "year")
            if years == 5:
                result["rows_five_years"] = write_year(home / "five", first=FIVE_YEARS[0])

            def step(name: str, work) -> None:
                print(f"backfill: {name} ...", file=sys.stderr, flush=True)
                began, load = time.perf_counter(), _load()[0]
                result[name] = {**work(), "load_at_start": load}
                took = time.perf_counter() - began
                print(f"backfill: {name} done in {took:.1f} s", file=sys.stderr, flush=True)

            def on_fresh(kind: str, migrated: bool, work):
                def run() -> dict:
                    with fresh_database(admin, kind, migrated) as url:
                        return work(url)

                return run

            year = home / "year"
            step("floor", on_fresh("floor", True, lambda url: copy_floor(url, year)))
            step(
                "naive",
                on_fresh(
                    "naive",
                    False,
                    lambda url: child(["bench.backfill_data", "naive", url, str(year)], env),
                ),
            )
            step(
                "pipeline",
                on_fresh(
                    "pipeline",
                    True,
                    lambda url: child(["bench.backfill_data", "pipeline", url, str(year)], env),
                ),
            )
            step(
                "startup",
                on_fresh(
                    "startup",
                    False,
                    lambda url: {"parts": child(["bench.backfill_startup", url], env)},
                ),
            )
            step("cli_year", on_fresh("cli", False, lambda url: run_cli(url, year, *YEAR)))
            if ui:
                step(
                    "ui_backfill",
                    on_fresh(
                        "ui",
                        False,
                        lambda url: child(["bench.backfill_daemon", url, str(year), *YEAR], env),
                    ),
                )
            if years == 5:
                five = home / "five"
                step(
                    "recordings",
                    lambda: {
                        span: child(
                            ["bench.backfill_data", "recordings", "-", str(folder), *dates], env
                        )
                        for span, folder, dates in (
                            ("year", year, YEAR),
                            ("five_years", five, FIVE_YEARS),
                        )
                    },
                )
                step(
                    "cli_five_years",
                    on_fresh("cli5", False, lambda url: run_cli(url, five, *FIVE_YEARS)),
                )
    finally:
        shutil.rmtree(home, ignore_errors=True)
    result["load_after"] = _load()
    result["targets"] = targets(result)
    return result


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("pipeline", "naive"):
        backfill_data.main(*argv)
        return 0
    parser = argparse.ArgumentParser(
        prog="python -m bench.backfill", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--server", choices=("local", "embedded"), default="local")
    parser.add_argument("--years", type=int, choices=(1, 5), default=5)
    parser.add_argument("--json", type=Path, help="also write the result here")
    parser.add_argument(
        "--no-ui", action="store_true", help="skip the UI backfill through the daemon"
    )
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    from bench.report.backfill import backfill_section

    result = measure(args.server, args.years, not args.no_ui)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    print("\n".join(backfill_section(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
