"""Minute runs one at a time without a run queue: the minute job's executor runs the steps in
process while it holds a PostgreSQL advisory lock, so two minute runs launched at once (or on two
workers) never interleave their writes. The server frees the lock when the run's connection goes,
so a killed run never leaves it held."""

from __future__ import annotations

import time

import dagster as dg
from dagster._core.events import DagsterEvent, EngineEventData
from dagster._core.executor.in_process import InProcessExecutor

from dual_ticker.settings import load_settings
from dual_ticker.storage.database import connect, resolve_url

MINUTE_LOCK_KEY = 0x6474_6D696E  # "dtmin": one lock for every minute run of the project
WAIT_POLL_SECONDS = 0.05


class MinuteLock:
    """A session-level advisory lock on its own connection."""

    def __init__(self, url: str):
        self._connection = connect(url)
        self._connection.autocommit = True

    def _ask(self, function: str) -> bool:
        with self._connection.cursor() as cursor:
            cursor.execute(f"SELECT {function}(%s)", (MINUTE_LOCK_KEY,))
            return cursor.fetchone()[0] is not False

    def try_acquire(self) -> bool:
        return self._ask("pg_try_advisory_lock")

    def acquire(self) -> None:
        # Polled, not pg_advisory_lock: a run canceled while it waits must be interruptible.
        while not self.try_acquire():
            time.sleep(WAIT_POLL_SECONDS)

    def release(self) -> None:
        self._connection.close()  # ends the session, which releases the lock


class MinuteLockedExecutor(InProcessExecutor):
    """The in-process executor, inside the minute lock."""

    def execute(self, plan_context, execution_plan):
        settings = load_settings()
        lock = MinuteLock(resolve_url(settings.database_url, settings.home))
        try:
            if not lock.try_acquire():
                yield DagsterEvent.engine_event(
                    plan_context,
                    "Another minute run holds the minute lock: waiting for it to finish",
                    EngineEventData(),
                )
                lock.acquire()
            yield from super().execute(plan_context, execution_plan)
        finally:
            lock.release()


@dg.executor(name="minute_locked_in_process", config_schema=dg.in_process_executor.config_schema)
def minute_locked_executor(init_context) -> MinuteLockedExecutor:
    """All steps in the run's process, one minute run at a time."""
    inner = dg.in_process_executor.executor_creation_fn(init_context)
    return MinuteLockedExecutor(inner.retries, inner.step_dependency_config, inner.marker_to_close)
