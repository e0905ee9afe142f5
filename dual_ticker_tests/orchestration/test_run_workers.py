"""Runs execute in warm Celery run workers: the worker and its pid are on the run, and minute runs
launched at once (no run queue in between) serialise on the minute lock."""

import time
from pathlib import Path

import dagster as dg
import psycopg2
import pytest
from dagster._core.storage.dagster_run import DagsterRunStatus

from dual_ticker.orchestration.minute_lock import MinuteLock
from dual_ticker.orchestration.run_launcher import RUN_WORKER_TAG
from dual_ticker_tests.orchestration.warm_workers import (
    run_worker,
    stack_environment,
    submit_minute_run,
    wait_for,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def stack(embedded_database, tmp_path, monkeypatch):
    environment = stack_environment(tmp_path / "home", embedded_database)
    for name, value in environment.items():
        if name != "PYTHONPATH":
            monkeypatch.setenv(name, value)
    with dg.DagsterInstance.from_config(environment["DAGSTER_HOME"]) as instance:
        yield environment, instance


def _children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _wait_until_ready(worker, log: Path, children: int) -> set[int]:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert worker.poll() is None, log.read_text()[-3000:]
        pool = _children(worker.pid)
        if " ready." in log.read_text() and len(pool) >= children:
            return pool
        time.sleep(0.2)
    raise AssertionError(f"the run worker was not ready in 90 s: {log.read_text()[-3000:]}")


def _worker_pid(run) -> int:
    return int(run.tags[RUN_WORKER_TAG].rsplit(" pid ", 1)[1])


def _step_window(instance, run_id):
    times = [
        event.timestamp
        for event in instance.all_logs(run_id)
        if event.dagster_event
        and event.dagster_event.event_type_value in ("STEP_START", "STEP_SUCCESS")
    ]
    return min(times), max(times)


def test_a_minute_run_executes_in_a_warm_worker_named_on_the_run(
    stack, embedded_database, tmp_path
):
    environment, instance = stack
    log = tmp_path / "worker.log"
    with run_worker(environment, log) as worker:
        warm_before_the_run = _wait_until_ready(worker, log, children=1)
        run = wait_for(instance, submit_minute_run(instance, "2020-12-18T15:01:00+00:00"))
    assert run.status == DagsterRunStatus.SUCCESS, log.read_text()[-3000:]
    assert _worker_pid(run) in warm_before_the_run  # a prefork child started before the run
    messages = [event.message for event in instance.all_logs(run.run_id)]
    assert any(f"Started process for run (pid: {_worker_pid(run)})" in m for m in messages)
    connection = psycopg2.connect(embedded_database)
    with connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT symbol, max(timestamp) FROM dual_ticker_bars GROUP BY symbol ORDER BY symbol"
        )
        latest = dict(cursor.fetchall())
    connection.close()
    assert set(latest) == {"MSFT", "NVDA"}
    assert all(str(stamp).startswith("2020-12-18 15:00") for stamp in latest.values()), latest


def test_two_minute_runs_launched_at_once_serialise(stack, embedded_database, tmp_path):
    """Both runs are in flight at once in two worker processes; the minute lock lets one write
    at a time. (A third party holds the lock until both wait, so they surely meet.)"""
    environment, instance = stack
    log = tmp_path / "worker.log"
    with run_worker(environment, log, concurrency=2) as worker:
        _wait_until_ready(worker, log, children=2)
        holder = MinuteLock(embedded_database)
        assert holder.try_acquire()
        run_ids = [
            submit_minute_run(instance, "2020-12-18T15:01:00+00:00"),
            submit_minute_run(instance, "2020-12-18T15:02:00+00:00"),
        ]
        deadline = time.monotonic() + 90
        while not all(_waited(instance, run_id) for run_id in run_ids):
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
        holder.release()
        runs = [wait_for(instance, run_id) for run_id in run_ids]
    assert all(r.status == DagsterRunStatus.SUCCESS for r in runs), log.read_text()[-3000:]
    assert _worker_pid(runs[0]) != _worker_pid(runs[1])  # two processes ran them at once
    (start_a, end_a), (start_b, end_b) = sorted(_step_window(instance, r.run_id) for r in runs)
    assert end_a <= start_b, "the two minute runs' steps interleaved"


def _waited(instance, run_id) -> bool:
    return any("holds the minute lock" in e.message for e in instance.all_logs(run_id))
