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
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pandas as pd
import psycopg2

from dual_ticker.settings import PROJECT_ROOT

SESSION = "2020-12-01"
HISTORY = ("2020-11-27", "2020-11-30")  # 600 bars before the session: the indicators' warm-up
FIRST_TICK = pd.Timestamp(f"{SESSION} 10:00", tz="America/New_York")
PROBE_TICKS = tuple(FIRST_TICK - pd.Timedelta(minutes=m) for m in (3, 2, 1))
VARIANTS = {  # variant -> schedule that targets its job
    "in_process": "minute_schedule",
    "multiprocess": "minute_job_multiprocess_schedule",
    "forkserver": "minute_job_forkserver_schedule",
}
CONTRACT_STEPS = ("raw_bars", "validated_bars", "features", "dual_ticker_bars")
POLL_SECONDS = 0.05
RUN_TIMEOUT_SECONDS = 120
LOCATION = "dual_ticker_bench"


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (no interpolation: a reported p95 is a latency that happened)."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(-(-share * len(ordered) // 1)) - 1))]


def summary(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "p50": round(percentile(values, 0.5), 3),
        "p95": round(percentile(values, 0.95), 3),
        "max": round(max(values), 3),
        "mean": round(statistics.fmean(values), 3),
    }


def write_instance(home: Path, dagster_home: Path, workspace: Path) -> None:
    dagster_home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(PROJECT_ROOT / "dagster.yaml", dagster_home / "dagster.yaml")
    workspace.write_text(
        "load_from:\n"
        "  - python_module:\n"
        "      module_name: bench.multiprocess_definitions\n"
        f"      location_name: {LOCATION}\n"
        f"      working_directory: {PROJECT_ROOT}\n"
    )


def dequeue_interval(dagster_home: Path) -> int:
    import yaml

    config = yaml.safe_load((dagster_home / "dagster.yaml").read_text())
    return config["run_coordinator"]["config"]["dequeue_interval_seconds"]


def set_environment(
    home: Path, dagster_home: Path, clock_file: Path, av_url: str, yahoo_url: str
) -> None:
    """This process and every Dagster process it starts see the same prod-shaped environment."""
    os.environ.pop("DUAL_TICKER_DATABASE_URL", None)  # the embedded server in the private home
    os.environ.update(
        {
            "DUAL_TICKER_ENV": "prod",
            "DUAL_TICKER_HOME": str(home),
            "DAGSTER_HOME": str(dagster_home),
            "BENCH_CLOCK_FILE": str(clock_file),
            "ALPHAVANTAGE_BASE_URL": f"{av_url}/query",
            "YAHOO_BASE_URL": yahoo_url,
            "ALPHAVANTAGE_API_KEY": "bench-dummy-key",
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])
            ),
            "PYTHONWARNINGS": "ignore",
        }
    )


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


@contextmanager
def daemon(home: Path, workspace: Path):
    """`dagster-daemon run` in its own process group (its code server and run workers with it)."""
    log = (home / "daemon.log").open("w")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w", str(workspace)],
        cwd=PROJECT_ROOT,
        env=os.environ.copy(),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        stop_group(process)
        log.close()


def stop_group(process: subprocess.Popen, grace_seconds: float = 20) -> None:
    """SIGTERM to the process group, then SIGKILL to whatever is left of it (code servers and run
    workers outlive the daemon otherwise)."""

    def signal_group(signum: int) -> bool:
        try:
            os.killpg(process.pid, signum)
            return True
        except ProcessLookupError:
            return False

    signal_group(signal.SIGTERM)
    try:
        process.wait(grace_seconds)
    except subprocess.TimeoutExpired:
        signal_group(signal.SIGKILL)
        process.wait()
    deadline = time.monotonic() + grace_seconds
    while signal_group(0) and time.monotonic() < deadline:
        time.sleep(0.2)
    signal_group(signal.SIGKILL)


class MemorySampler(threading.Thread):
    """Peak RSS (VmHWM) by role of every process in the daemon's process group, sampled every
    0.2 s: daemon, code server, run workers (children of the code server), step workers."""

    def __init__(self, pgid: int) -> None:
        super().__init__(daemon=True)
        self.pgid, self.peaks, self._halt = pgid, {}, threading.Event()

    def run(self) -> None:
        while not self._halt.wait(0.2):
            self.sample()

    def stop(self) -> dict[str, float]:
        self._halt.set()
        self.join()
        return self.peaks

    def sample(self) -> None:
        found = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if os.getpgid(int(entry.name)) != self.pgid:
                    continue
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                fields = dict(
                    line.split(":", 1) for line in (entry / "status").read_text().splitlines()
                )
                found[int(entry.name)] = (
                    command,
                    int(fields["PPid"]),
                    int(fields["VmHWM"].split()[0]) / 1024,
                )
            except (OSError, ProcessLookupError, KeyError, ValueError):
                continue
        servers = {pid for pid, (command, _, _) in found.items() if "api grpc" in command}
        for pid, (command, parent, peak) in found.items():
            role = (
                "daemon"
                if "dagster-daemon" in command
                else "code server"
                if pid in servers
                else "run worker"
                if parent in servers
                else "step worker / forkserver"
            )
            self.peaks[role] = round(max(self.peaks.get(role, 0.0), peak), 1)


class Scheduler:
    """Submits a tick's run exactly as the scheduler daemon does (minus its tick bookkeeping)."""

    def __init__(self, stack: ExitStack, instance, workspace: Path) -> None:
        from dagster._core.workspace.context import WorkspaceProcessContext
        from dagster._core.workspace.load_target import WorkspaceFileTarget

        self.instance = instance
        self.context = stack.enter_context(
            WorkspaceProcessContext(instance, WorkspaceFileTarget([str(workspace)]))
        )

    def submit(self, schedule_name: str, tick: pd.Timestamp):
        from dagster._core.definitions.selector import JobSubsetSelector
        from dagster._core.definitions.timestamp import TimestampWithTimezone
        from dagster._scheduler.scheduler import _create_scheduler_run

        request_context = self.context.create_request_context()
        location = request_context.get_code_location(LOCATION)
        repository = next(iter(location.get_repositories().values()))
        schedule = repository.get_schedule(schedule_name)
        data = location.get_schedule_execution_data(
            self.instance,
            repository.handle,
            schedule_name,
            TimestampWithTimezone(tick.timestamp(), "America/New_York"),
            None,
        )
        (request,) = data.run_requests
        selector = JobSubsetSelector(
            location_name=LOCATION,
            repository_name=repository.name,
            job_name=schedule.job_name,
            op_selection=None,
        )
        job = location.get_job(selector)
        run = _create_scheduler_run(
            self.instance, tick.to_pydatetime(), location, schedule, job, request
        )
        self.instance.submit_run(run.run_id, request_context)
        return run


def committed(connection, bar_start: pd.Timestamp) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            'SELECT count(*) FROM dual_ticker_bars WHERE "timestamp" = %s',
            (bar_start.to_pydatetime(),),
        )
        return cursor.fetchone()[0] == 2


def phases(instance, run_id: str, began: float, submitted: float, landed: float | None) -> dict:
    """Tick-to-commit split at the run's own event timestamps (seconds); the phases up to and
    including `dual_ticker_bars` add up to the latency. A step's phase runs from the end of the
    previous one, so it includes any step-process start (multiprocess executor)."""
    marks: dict[str, float] = {}
    ends: dict[str, float] = {}
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None:
            continue
        kind = event.event_type_value
        if kind in ("PIPELINE_STARTING", "PIPELINE_START", "PIPELINE_SUCCESS", "PIPELINE_FAILURE"):
            marks.setdefault(kind, record.timestamp)
        elif kind == "ENGINE_EVENT" and (event.message or "").startswith("Started process for run"):
            marks.setdefault("WORKER_STARTED", record.timestamp)
        elif kind == "STEP_START" and event.step_key == CONTRACT_STEPS[0]:
            marks.setdefault("FIRST_STEP", record.timestamp)
        elif kind == "STEP_SUCCESS" and event.step_key:
            ends.setdefault(event.step_key, record.timestamp)
    points = [
        ("submit", submitted),
        ("queued", marks.get("PIPELINE_STARTING")),
        ("launch", marks.get("WORKER_STARTED")),
        ("load_job", marks.get("PIPELINE_START")),
        ("to_first_step", marks.get("FIRST_STEP")),
    ]
    points += [(f"step_{step}", ends.get(step)) for step in CONTRACT_STEPS[:-1]]
    points += [
        (f"step_{CONTRACT_STEPS[-1]}", landed),
        ("after_commit", marks.get("PIPELINE_SUCCESS")),
    ]
    out, previous = {}, began
    for name, moment in points:
        if moment is None or previous is None:
            previous = moment
            continue
        out[name] = round(moment - previous, 4)
        previous = moment
    return out


def play_tick(
    scheduler: Scheduler, connection, variant: str, tick: pd.Timestamp, clock_file: Path, simulators
) -> dict:
    set_clock(clock_file, tick, simulators)
    bar_start = (tick - pd.Timedelta(minutes=1)).tz_convert("UTC")
    began = time.time()
    run = scheduler.submit(VARIANTS[variant], tick)
    submitted = time.time()
    landed = None
    deadline = began + RUN_TIMEOUT_SECONDS
    while time.time() < deadline:
        if landed is None and committed(connection, bar_start):
            landed = time.time()
        status = scheduler.instance.get_run_by_id(run.run_id).status
        if status.value in ("SUCCESS", "FAILURE", "CANCELED"):
            if landed is None and committed(connection, bar_start):
                landed = time.time()
            break
        time.sleep(POLL_SECONDS)
    else:
        status = None
    return {
        "variant": variant,
        "tick": tick.isoformat(),
        "run_id": run.run_id,
        "status": status.value if status else "TIMEOUT",
        "latency": None if landed is None else landed - began,
        "run_seconds": time.time() - began,
        "phases": phases(scheduler.instance, run.run_id, began, submitted, landed),
    }


def wait_for_daemon(instance, process, timeout: float = 90) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                "dagster-daemon exited during start-up; read daemon.log in the bench home"
            )
        if "QUEUED_RUN_COORDINATOR" in instance.get_daemon_heartbeats():
            return
        time.sleep(0.5)
    raise RuntimeError("dagster-daemon did not heartbeat within 90 s")


def graph_in_process(ticks: list[str]) -> None:
    """Prints the graph's in-process duration for each tick in this (fresh) process: the first
    pays every first-use cost (lazy imports, caches), later ones what a warm worker would pay."""
    import dagster as dg

    from dual_ticker.clock import FixedClock
    from dual_ticker.definitions import ASSETS, build_resources
    from dual_ticker.run_time import AS_OF_TAG
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
    print(json.dumps(timings))


def process_floor() -> dict:
    """What a new run-worker process costs before it runs anything (interpreter + code import),
    and the steps in a cold process against a warm one."""
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

    def graph(ticks) -> list[float]:
        code = f"from bench.minute_latency import graph_in_process as g; g({[t.isoformat() for t in ticks]!r})"
        done = subprocess.run(
            [sys.executable, "-c", code],
            env=env,
            cwd=PROJECT_ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
        return json.loads(done.stdout.strip().splitlines()[-1])

    graph(
        PROBE_TICKS[:1]
    )  # opens the session (fetches from 09:30), so the next two fetch one bar each
    cold, warm = graph(PROBE_TICKS[1:])
    return {
        "python_start": timed("pass"),
        "import_dagster": timed("import dagster"),
        "import_code_location": timed("import bench.multiprocess_definitions"),
        "graph_cold_process": cold,
        "graph_warm_process": warm,
    }


def aggregate(ticks: list[dict]) -> dict:
    result = {}
    for variant in VARIANTS:
        own = [t for t in ticks if t["variant"] == variant]
        if not own:
            continue
        ok = [t for t in own if t["latency"] is not None and t["status"] == "SUCCESS"]
        names = list(dict.fromkeys(name for t in ok for name in t["phases"]))
        result[variant] = {
            "ticks": len(own),
            "failed": len(own) - len(ok),
            "latency": summary([t["latency"] for t in ok]),
            "run_seconds": summary([t["run_seconds"] for t in ok]),
            "phases_p50": {
                name: round(
                    statistics.median([t["phases"][name] for t in ok if name in t["phases"]]), 3
                )
                for name in names
            },
        }
    return result


def run_benchmark(ticks_in_process: int, ticks_multiprocess: int, keep: bool) -> dict:
    from dual_ticker.storage import embedded
    from dual_ticker.storage.migrations import apply_migrations
    from dual_ticker_tests.support.alpha_vantage_server import AlphaVantageSimulator
    from dual_ticker_tests.support.yahoo_server import YahooSimulator

    home = Path(tempfile.mkdtemp(prefix="dt-bench-minute-"))
    dagster_home, workspace, clock_file = (
        home / "dagster",
        home / "workspace.yaml",
        home / "clock.json",
    )
    # Each variant's ticks spread evenly over the replay, so drift on the machine hits all alike.
    counts = {
        "in_process": ticks_in_process,
        "multiprocess": ticks_multiprocess,
        "forkserver": ticks_multiprocess,
    }
    order = sorted(
        ((i + 0.5) / n, rank, variant)
        for rank, (variant, n) in enumerate(counts.items())
        for i in range(n)
    )
    plan = [
        (variant, FIRST_TICK + pd.Timedelta(minutes=k + 1))
        for k, (_, _, variant) in enumerate(order)
    ]
    with ExitStack() as stack:
        simulators = [
            stack.enter_context(AlphaVantageSimulator()),
            stack.enter_context(YahooSimulator()),
        ]
        set_environment(home, dagster_home, clock_file, simulators[0].url, simulators[1].url)
        write_instance(home, dagster_home, workspace)
        interval = dequeue_interval(dagster_home)
        stack.callback(lambda: shutil.rmtree(home, ignore_errors=True) if not keep else None)
        url = embedded.start(home)
        stack.callback(embedded.stop, home)
        apply_migrations(url)
        set_clock(clock_file, PROBE_TICKS[0] - pd.Timedelta(minutes=30), simulators)
        backfill_history(PROBE_TICKS[0] - pd.Timedelta(minutes=30))
        set_clock(clock_file, PROBE_TICKS[-1], simulators)
        floor = process_floor()

        import dagster as dg

        instance = stack.enter_context(dg.DagsterInstance.get())
        process = stack.enter_context(daemon(home, workspace))
        wait_for_daemon(instance, process)
        sampler = MemorySampler(process.pid)
        sampler.start()
        scheduler = Scheduler(stack, instance, workspace)
        connection = psycopg2.connect(url)
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
                    f"dagster-daemon exited; read {home / 'daemon.log'} (run with --keep)"
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
        "dequeue_interval_seconds": interval,
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
