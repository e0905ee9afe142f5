"""Bench-only code location for the minute-latency benchmark: the project's definitions (its
`minute_job` on the in-process executor, sensors, resources) plus the same job on Dagster's
multiprocess executor, spawn and forkserver, each with a schedule built from `minute_request`.

Time is driven the way the design allows (one injectable clock): the benchmark writes each tick to
BENCH_CLOCK_FILE and this clock reads "now" as that tick plus the wall time since it was written,
so a run sees the same `now - as_of` it would see live."""

from __future__ import annotations

import json
import os
import time

import dagster as dg
import pandas as pd

from dual_ticker.calendar.nyse import NEW_YORK
from dual_ticker.clock import Clock, to_utc
from dual_ticker.definitions import ASSETS, build_definitions
from dual_ticker.orchestration.partitions import SESSIONS
from dual_ticker.orchestration.schedules import build_minute_schedule, minute_request
from dual_ticker.settings import load_settings


class TickFileClock(Clock):
    """now() = the tick in the file + wall seconds since the benchmark wrote it."""

    def __init__(self, path: str) -> None:
        self._path = path

    def now(self) -> pd.Timestamp:
        with open(self._path) as handle:
            written = json.load(handle)
        return to_utc(written["tick"]) + pd.Timedelta(seconds=time.time() - written["wall"])


def _job(name: str, executor: dg.ExecutorDefinition) -> dg.UnresolvedAssetJobDefinition:
    return dg.define_asset_job(
        name, selection=ASSETS, partitions_def=SESSIONS, executor_def=executor
    )


def _schedule_for(job) -> dg.ScheduleDefinition:
    @dg.schedule(
        name=f"{job.name}_schedule",
        job=job,
        cron_schedule=build_minute_schedule().cron_schedule,
        execution_timezone=NEW_YORK,
        default_status=dg.DefaultScheduleStatus.STOPPED,
    )
    def _minute(context: dg.ScheduleEvaluationContext):
        return minute_request(pd.Timestamp(context.scheduled_execution_time))

    return _minute


minute_job_multiprocess = _job("minute_job_multiprocess", dg.multiprocess_executor)
# The multiprocess executor's own speed-up: steps fork from a server that imported the code once.
minute_job_forkserver = _job(
    "minute_job_forkserver",
    dg.multiprocess_executor.configured(
        {"start_method": {"forkserver": {"preload_modules": [__name__]}}}
    ),
)

defs = dg.Definitions.merge(
    build_definitions(load_settings(), TickFileClock(os.environ["BENCH_CLOCK_FILE"])),
    dg.Definitions(
        jobs=[minute_job_multiprocess, minute_job_forkserver],
        schedules=[_schedule_for(minute_job_multiprocess), _schedule_for(minute_job_forkserver)],
    ),
)
