"""One replayed tick of the minute-latency benchmark: its run submitted the way the scheduler
daemon submits it, the wait for both symbols' bar in dual_ticker_bars, and the run's time split
into phases at its own event timestamps."""

from __future__ import annotations

import statistics
import time
from contextlib import ExitStack
from pathlib import Path

import pandas as pd

from bench.daemon_stack import LOCATION
from bench.minute_session import CONTRACT_STEPS, set_clock
from bench.percentiles import summary

VARIANTS = {  # variant -> schedule that targets its job
    "in_process": "minute_schedule",
    "multiprocess": "minute_job_multiprocess_schedule",
    "forkserver": "minute_job_forkserver_schedule",
}
POLL_SECONDS = 0.05
RUN_TIMEOUT_SECONDS = 120


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


def aggregate(ticks: list[dict]) -> dict:
    """Per variant: ticks, failures, latency and run-time summaries, p50 of each phase."""
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
