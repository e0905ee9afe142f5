"""What goes wrong around warm run workers: a worker killed mid-run fails its run (run monitoring)
and the pool replaces it for the next run; edited code reaches the next run without a restart."""

import os
import shutil
import signal
import time

import dagster as dg
import pytest
from dagster._core.storage.dagster_run import DagsterRunStatus

from dual_ticker.orchestration.minute_lock import MinuteLock
from dual_ticker.orchestration.run_launcher import RUN_WORKER_TAG
from dual_ticker_tests.orchestration.test_run_workers import _wait_until_ready, _worker_pid
from dual_ticker_tests.orchestration.warm_workers import (
    ROOT,
    daemon,
    run_worker,
    stack_environment,
    submit_minute_run,
    wait_for,
)

pytestmark = pytest.mark.slow
WAITING = "holds the minute lock"


def _instance(environment, monkeypatch):
    for name, value in environment.items():
        if name != "PYTHONPATH":
            monkeypatch.setenv(name, value)
    return dg.DagsterInstance.from_config(environment["DAGSTER_HOME"])


def _wait_for_daemon(instance, process, timeout=90):
    deadline = time.monotonic() + timeout
    while "MONITORING" not in instance.get_daemon_heartbeats():
        assert process.poll() is None and time.monotonic() < deadline, "no monitoring daemon"
        time.sleep(0.5)


def test_a_killed_worker_fails_its_run_and_the_next_run_succeeds(
    embedded_database, tmp_path, monkeypatch
):
    home = tmp_path / "home"
    environment = stack_environment(home, embedded_database, env="ci")
    log = tmp_path / "worker.log"
    with (
        _instance(environment, monkeypatch) as instance,
        run_worker(environment, log) as worker,
        daemon(environment, home) as dagster_daemon,
    ):
        _wait_for_daemon(instance, dagster_daemon)
        _wait_until_ready(worker, log, children=1)
        other_run = MinuteLock(embedded_database)  # keeps the run mid-way, inside its executor
        assert other_run.try_acquire()
        run_id = submit_minute_run(instance, "2020-12-18T15:05:00+00:00")
        deadline = time.monotonic() + 60
        while not any(WAITING in e.message for e in instance.all_logs(run_id)):
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
        killed = _worker_pid(instance.get_run_by_id(run_id))
        os.kill(killed, signal.SIGKILL)
        other_run.release()
        failed = wait_for(instance, run_id, timeout=30)  # the bound: failed within 30 s
        assert failed.status == DagsterRunStatus.FAILURE
        replaced = _wait_until_ready(worker, log, children=1)
        assert killed not in replaced
        following = wait_for(instance, submit_minute_run(instance, "2020-12-18T15:10:00+00:00"))
    assert following.status == DagsterRunStatus.SUCCESS, log.read_text()[-3000:]
    assert _worker_pid(following) != killed


def test_edited_code_reaches_the_next_run_without_a_worker_restart(
    embedded_database, tmp_path, monkeypatch
):
    code = tmp_path / "code"
    for folder in ("dual_ticker", "config", "sql"):
        shutil.copytree(ROOT / folder, code / folder, ignore=shutil.ignore_patterns("__pycache__"))
    environment = stack_environment(tmp_path / "home", embedded_database, code_dir=code)
    log = tmp_path / "worker.log"
    marker = "code edited after the worker warmed up"
    with (
        _instance(environment, monkeypatch) as instance,
        run_worker(environment, log, cwd=code) as worker,
    ):
        _wait_until_ready(worker, log, children=1)
        before = wait_for(instance, submit_minute_run(instance, "2020-12-18T15:01:00+00:00", code))
        lock_module = code / "dual_ticker" / "orchestration" / "minute_lock.py"
        source = lock_module.read_text()
        edited = source.replace(
            "            yield from super().execute(plan_context, execution_plan)",
            f"            yield DagsterEvent.engine_event(plan_context, {marker!r}, EngineEventData())\n"
            "            yield from super().execute(plan_context, execution_plan)",
        )
        assert edited != source
        lock_module.write_text(edited)
        after = wait_for(instance, submit_minute_run(instance, "2020-12-18T15:02:00+00:00", code))
    assert before.status == after.status == DagsterRunStatus.SUCCESS, log.read_text()[-3000:]
    assert before.tags[RUN_WORKER_TAG] == after.tags[RUN_WORKER_TAG]  # the same warm process
    assert not any(marker in e.message for e in instance.all_logs(before.run_id))
    assert any(marker in e.message for e in instance.all_logs(after.run_id))
