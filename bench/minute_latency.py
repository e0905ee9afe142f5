"""Benchmark 1: minute latency, from the schedule tick to both symbols' bar committed in
dual_ticker_bars, through the real daemon path: a `dagster-daemon run` on a PostgreSQL instance
(the project's dagster.yaml: QueuedRunCoordinator, dequeue every second), loopback Alpha Vantage
and Yahoo simulators, DUAL_TICKER_ENV=prod.

The scheduler ticks on wall-clock minutes; to replay many ticks quickly each tick is submitted the
way the scheduler daemon does it (evaluate the schedule in the code server, create the run with
the scheduler's own function, `instance.submit_run` to the queue); the daemon's run queue dequeues
it and the default run launcher starts a run worker through the code server. The next tick waits
for the run to finish. Variants (their ticks spread evenly over the replay): the project's
`minute_job` (in-process executor) and the same job on the multiprocess executor (spawn, and
forkserver).

    python -m bench.minute_latency [--ticks 30] [--multiprocess-ticks 6] [--json out.json] [--keep]
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from contextlib import ExitStack
from pathlib import Path

import pandas as pd
import psycopg2

from bench.daemon_stack import start_daemon, start_stack
from bench.memory_sampler import MemorySampler
from bench.minute_session import (
    FIRST_TICK,
    PROBE_TICKS,
    SESSION,
    backfill_history,
    set_clock,
    tick_plan,
)
from bench.process_floor import process_floor
from bench.tick_replay import RUN_TIMEOUT_SECONDS, Scheduler, aggregate, play_tick


def run_benchmark(ticks_in_process: int, ticks_multiprocess: int, keep: bool) -> dict:
    plan = tick_plan(
        {
            "in_process": ticks_in_process,
            "multiprocess": ticks_multiprocess,
            "forkserver": ticks_multiprocess,
        }
    )
    with ExitStack() as stack:
        minute_stack = start_stack(stack, keep)
        clock_file, simulators = minute_stack.clock_file, minute_stack.simulators
        set_clock(clock_file, PROBE_TICKS[0] - pd.Timedelta(minutes=30), simulators)
        backfill_history(PROBE_TICKS[0] - pd.Timedelta(minutes=30))
        set_clock(clock_file, PROBE_TICKS[-1], simulators)
        floor = process_floor()

        instance, process = start_daemon(stack, minute_stack)
        sampler = MemorySampler(process.pid)
        sampler.start()
        scheduler = Scheduler(stack, instance, minute_stack.workspace)
        connection = psycopg2.connect(minute_stack.database_url)
        connection.autocommit = True
        stack.callback(connection.close)
        # The first run of the session fetches 09:30-10:00 and warms the code server: not counted.
        warmup = play_tick(scheduler, connection, "in_process", FIRST_TICK, clock_file, simulators)
        print(
            f"warm-up tick {FIRST_TICK:%H:%M}: {warmup['status']} in {warmup['run_seconds']:.1f} s",
            file=sys.stderr,
            flush=True,
        )
        played = []
        for variant, tick in plan:
            if process.poll() is not None:
                raise RuntimeError(
                    f"dagster-daemon exited; read {minute_stack.home / 'daemon.log'} (run with --keep)"
                )
            played.append(play_tick(scheduler, connection, variant, tick, clock_file, simulators))
            if played[-1]["status"] == "TIMEOUT":
                raise RuntimeError(
                    f"the run of tick {tick} did not finish in {RUN_TIMEOUT_SECONDS} s"
                )
            latency = played[-1]["latency"]
            shown = "-" if latency is None else f"{latency:.2f} s"
            print(
                f"{tick:%H:%M} {variant:<12} {played[-1]['status']:<8} latency {shown}",
                file=sys.stderr,
                flush=True,
            )
        memory = sampler.stop()
        server = connection.server_version
    return {
        "benchmark": "minute_latency",
        "session": SESSION,
        "first_tick": plan[0][1].isoformat() if plan else None,
        "last_tick": plan[-1][1].isoformat() if plan else None,
        "dequeue_interval_seconds": minute_stack.dequeue_interval_seconds,
        "environment": "prod (alpha_vantage primary, yahoo_finance fallback, loopback)",
        "variants": aggregate(played),
        "process_floor": floor,
        "dagster_peak_rss_mb": memory,
        "postgres_server_version": server,
        "ticks": played,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--ticks", type=int, default=30, help="measured ticks of the in-process minute_job"
    )
    parser.add_argument(
        "--multiprocess-ticks",
        type=int,
        default=6,
        help="measured ticks of each multiprocess variant (spawn, forkserver)",
    )
    parser.add_argument("--json", type=Path, help="write the result here (default: stdout)")
    parser.add_argument(
        "--keep", action="store_true", help="keep the private home (logs) afterwards"
    )
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    result = run_benchmark(args.ticks, args.multiprocess_ticks, args.keep)
    text = json.dumps(result, indent=1)
    if args.json:
        args.json.write_text(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
