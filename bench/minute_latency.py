"""Benchmark 1: minute latency through the scheduler's path on the `make run` stack: from each tick
of the minute schedule (`.dagster/scheduled_execution_time`) to both symbols' bar committed in
dual_ticker_bars (`created_at`), with the UI, daemon, sensors, sidecar and warm run workers running.

`python -m dual_ticker run --replay-start 2020-12-18 10:00` in a private home, DUAL_TICKER_ENV=prod
with loopback Alpha Vantage and Yahoo simulators that follow the replay clock: first with instant
answers, then with 150 ms per request. The schedule ticks once a wall minute (cron has no finer
grain and `--speed` only moves the recorded time), so N ticks take N minutes.

    python -m bench.minute_latency [--ticks 30] [--latency-ticks 30] [--json out.json] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from contextlib import ExitStack
from pathlib import Path

import pandas as pd
import psycopg2

from bench.percentiles import summary
from bench.stack_memory import StackMemory
from dual_ticker.settings import PROJECT_ROOT

REPLAY_START = "2020-12-18 10:00"
HISTORY = ("2020-12-16", "2020-12-17")  # 780 bars before the session: the indicators' warm-up
TICK_TAG = ".dagster/scheduled_execution_time"
PROVIDER_LATENCY_SECONDS = 0.15


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _environment(home: Path, simulators) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "DUAL_TICKER_"))}
    return base | {
        "DUAL_TICKER_ENV": "prod",
        "DUAL_TICKER_HOME": str(home),
        "ALPHAVANTAGE_BASE_URL": f"{simulators[0].url}/query",
        "YAHOO_BASE_URL": simulators[1].url,
        "ALPHAVANTAGE_API_KEY": "bench-dummy-key",
        # The stack gets it from --replay-start too; here it makes the simulators follow the
        # stack's replay clock (they reveal only what that clock says is complete).
        "DUAL_TICKER_REPLAY_START": REPLAY_START,
        "DUAL_TICKER_SIDECAR_PORT": str(_free_port()),
        "PYTHONPATH": str(PROJECT_ROOT),
        "PYTHONWARNINGS": "ignore",
    }


def _backfill_history(simulators) -> None:
    """The sessions before the replayed one, through the real assets in process (setup, untimed)."""
    import dagster as dg

    from dual_ticker.clock import FixedClock
    from dual_ticker.definitions import ASSETS, build_resources
    from dual_ticker.settings import load_settings

    close = pd.Timestamp(f"{HISTORY[1]} 16:00", tz="America/New_York")
    for simulator in simulators:
        simulator.set_now(close)
    result = dg.materialize(
        ASSETS,
        selection=["raw_bars", "validated_bars", "features", "dual_ticker_bars"],
        tags={
            "dagster/asset_partition_range_start": HISTORY[0],
            "dagster/asset_partition_range_end": HISTORY[1],
        },
        resources=build_resources(load_settings(), FixedClock(close)),
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    if not result.success:
        raise RuntimeError("the history backfill before the replayed session failed")


def _follow_replay_clock(home: Path, simulators, halt: threading.Event) -> None:
    """The simulators reveal what the stack's replay clock says is complete."""
    from dual_ticker.clock.replay import clock_from_settings
    from dual_ticker.settings import load_settings

    clock = clock_from_settings(load_settings())
    while not halt.wait(0.1):
        if (home / "replay_clock.json").exists():
            now = clock.now()
            for simulator in simulators:
                simulator.set_now(now)


def _committed(connection, bar: pd.Timestamp) -> tuple[int, pd.Timestamp | None]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), max(created_at) FROM dual_ticker_bars WHERE timestamp = %s",
            (bar.to_pydatetime(),),
        )
        count, created = cursor.fetchone()
    return count, None if created is None else pd.Timestamp(created)


def _event_times(instance, run_id: str) -> dict[str, float]:
    """When each milestone of the run happened, from the run's own events (first occurrence)."""
    marks = {
        "Celery task has been forwarded": "in_broker",
        "Started process for run": "in_worker",
    }
    found: dict[str, float] = {}
    for event in instance.all_logs(run_id):
        kind = event.dagster_event.event_type_value if event.dagster_event else None
        name = "run_start" if kind == "PIPELINE_START" else None
        name = "first_step" if kind == "STEP_START" else name
        for text, mark in marks.items():
            if text in (event.message or ""):
                name = mark
        if name and name not in found:
            found[name] = event.timestamp
    return found


def _phases(tick: float, created: float, events: dict[str, float], committed: float | None):
    """Seconds per phase from the tick to the commit; the phases add up to the latency."""
    order = [
        ("scheduler", tick, created),
        ("launch", created, events.get("in_broker")),
        ("broker_to_worker", events.get("in_broker"), events.get("in_worker")),
        ("worker_to_first_step", events.get("in_worker"), events.get("first_step")),
        ("steps_to_commit", events.get("first_step"), committed),
    ]
    return {
        name: None if start is None or end is None else round(end - start, 3)
        for name, start, end in order
    }


def _measure(instance, connection, run, variant: str) -> dict:
    from dual_ticker.calendar.as_of import AS_OF_TAG

    tick = pd.Timestamp(run.tags[TICK_TAG])
    as_of = pd.Timestamp(run.tags[AS_OF_TAG])
    record = instance.get_run_record_by_id(run.run_id)
    count, committed = _committed(connection, as_of - pd.Timedelta(minutes=1))
    latency = (committed - tick).total_seconds() if count == 2 and committed else None
    return {
        "variant": variant,
        "run_id": run.run_id,
        "tick": tick.isoformat(),
        "as_of": as_of.isoformat(),
        "status": run.status.value,
        "worker": run.tags.get("dual_ticker/run_worker"),
        "latency": None if latency is None else round(latency, 3),
        "phases": _phases(
            tick.timestamp(),
            record.create_timestamp.timestamp(),
            _event_times(instance, run.run_id),
            None if committed is None else committed.timestamp(),
        ),
    }


def _aggregate(ticks: list[dict]) -> dict:
    done = [t for t in ticks if t["latency"] is not None]
    return {
        "ticks": len(ticks),
        "failed": len(ticks) - len(done),
        "latency": summary([t["latency"] for t in done]),
        "phases": {
            phase: summary([t["phases"][phase] for t in done if t["phases"][phase] is not None])
            for phase in done[0]["phases"]
        }
        if done
        else {},
    }


def run_benchmark(instant_ticks: int, latency_ticks: int, keep: bool) -> dict:
    import dagster as dg
    from dagster._core.storage.dagster_run import DagsterRunStatus, RunsFilter

    from dual_ticker.storage import embedded
    from dual_ticker.storage.migrations import apply_migrations
    from dual_ticker_tests.support.alpha_vantage_server import AlphaVantageSimulator
    from dual_ticker_tests.support.yahoo_server import YahooSimulator

    home = Path(tempfile.mkdtemp(prefix="dt-bench-minute-"))
    with ExitStack() as stack:
        stack.callback(lambda: None if keep else shutil.rmtree(home, ignore_errors=True))
        simulators = [
            stack.enter_context(AlphaVantageSimulator()),
            stack.enter_context(YahooSimulator()),
        ]
        environment = _environment(home, simulators)
        os.environ.update(environment)
        os.environ.pop("DUAL_TICKER_DATABASE_URL", None)
        url = embedded.start(home)
        stack.callback(embedded.stop, home)
        apply_migrations(url)
        _backfill_history(simulators)
        log = (home / "stack.log").open("w")
        stack.callback(log.close)
        command = [sys.executable, "-m", "dual_ticker", "run", "--ui-port", str(_free_port())]
        started = time.time()
        process = subprocess.Popen(
            [*command, "--replay-start", REPLAY_START],
            env=environment,
            cwd=PROJECT_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

        def stop_stack():
            os.killpg(process.pid, signal.SIGINT)
            process.wait(90)

        stack.callback(stop_stack)
        halt = threading.Event()
        follower = threading.Thread(
            target=_follow_replay_clock, args=(home, simulators, halt), daemon=True
        )
        follower.start()
        stack.callback(halt.set)
        memory = StackMemory(process.pid, home / "pgdata")
        memory.start()
        while not (home / "dagster" / "dagster.yaml").exists():
            time.sleep(0.2)
        instance = stack.enter_context(dg.DagsterInstance.from_config(str(home / "dagster")))
        connection = psycopg2.connect(url)
        connection.autocommit = True
        stack.callback(connection.close)
        seen, ticks, first = set(), [], None
        variant, wanted = "instant", instant_ticks
        deadline = time.time() + 60 * (instant_ticks + latency_ticks + 3)
        while time.time() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the stack exited; read {home / 'stack.log'} (--keep)")
            finished = instance.get_runs(
                RunsFilter(
                    job_name="minute_job",
                    statuses=[DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE],
                )
            )
            for run in sorted(finished, key=lambda r: r.tags.get(TICK_TAG, "")):
                if run.run_id in seen or TICK_TAG not in run.tags:
                    continue
                seen.add(run.run_id)
                measured = _measure(instance, connection, run, variant)
                if first is None:
                    first = measured | {
                        "stack_start_to_tick": round(
                            pd.Timestamp(measured["tick"]).timestamp() - started, 3
                        )
                    }
                else:
                    ticks.append(measured)
                print(
                    f"{measured['tick'][11:19]} {variant:<8} {measured['status']:<8} "
                    f"latency {measured['latency']} {measured['phases']}",
                    file=sys.stderr,
                    flush=True,
                )
                done = [t for t in ticks if t["variant"] == variant]
                if variant == "instant" and len(done) >= wanted:
                    variant, wanted = "150ms", latency_ticks
                    for simulator in simulators:
                        simulator.set_mode("slow", delay=PROVIDER_LATENCY_SECONDS)
            if sum(t["variant"] == "150ms" for t in ticks) >= latency_ticks:
                break
            time.sleep(0.2)
        peaks = memory.stop()
    return {
        "benchmark": "minute_latency",
        "date": pd.Timestamp(started, unit="s").strftime("%Y-%m-%d %H:%M UTC"),
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "replay_start": REPLAY_START,
        "environment": "prod config: alpha_vantage primary, yahoo_finance fallback (loopback)",
        "stack": "python -m dual_ticker run (dagster dev: UI + daemon + code server; "
        "run worker; sidecar; embedded PostgreSQL)",
        "first_tick": first,
        "variants": {
            name: _aggregate([t for t in ticks if t["variant"] == name])
            for name in ("instant", "150ms")
        },
        "memory": peaks,
        "ticks": ticks,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=30, help="measured ticks, instant feeds")
    parser.add_argument(
        "--latency-ticks", type=int, default=30, help="measured ticks, 150 ms per request"
    )
    parser.add_argument("--json", type=Path, help="write the result here (default: stdout)")
    parser.add_argument("--keep", action="store_true", help="keep the private home (logs)")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    result = run_benchmark(args.ticks, args.latency_ticks, args.keep)
    text = json.dumps(result, indent=1)
    if args.json:
        args.json.write_text(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
