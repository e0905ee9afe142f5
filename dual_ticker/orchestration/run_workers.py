"""Warm run workers: Celery prefork workers that execute Dagster runs (dagster-celery's
`execute_job` task) in processes that imported and warmed the code location before their first run.

    python -m dual_ticker.orchestration.run_workers [--concurrency 1]   (make run starts one)

The parent imports everything and forks warm children; a dead child is replaced by the pool. When
the project's source changes on disk (a deploy, an edit before "Reload definitions"), the next
run reloads the code location first, so it never executes stale code.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import threading

from celery import Celery, signals
from dagster import DagsterInstance
from dagster._cli.api import _execute_run_command_body
from dagster._core.storage.dagster_run import DagsterRunStatus
from dagster._grpc.types import ExecuteRunArgs
from dagster._serdes import unpack_value
from dagster_celery.config import TASK_EXECUTE_JOB_NAME
from dagster_celery.make_app import make_app

from dual_ticker.orchestration import code_location
from dual_ticker.orchestration.run_launcher import RUN_QUEUE, RUN_WORKER_TAG, app_arguments
from dual_ticker.settings import load_settings

CANCEL_POLL_SECONDS = 1.0
_instance: DagsterInstance | None = None


def _warm_instance() -> DagsterInstance:
    """The process's instance, opened once (its storage keeps connections open)."""
    global _instance
    if _instance is None:
        _instance = DagsterInstance.get()
    return _instance


def _interrupt_when_canceled(instance: DagsterInstance, run_id: str, done: threading.Event):
    """Cancel and max runtime reach a running run through its status: a broadcast revoke needs a
    fanout-capable broker, which the database transport is not."""

    def watch() -> None:
        while not done.wait(CANCEL_POLL_SECONDS):
            run = instance.get_run_by_id(run_id)
            if run is not None and run.status in (
                DagsterRunStatus.CANCELING,
                DagsterRunStatus.CANCELED,
            ):
                os.kill(os.getpid(), signal.SIGINT)  # Dagster stops the run at its next step
                return

    thread = threading.Thread(target=watch, name="interrupt-when-canceled", daemon=True)
    thread.start()
    return thread


def build_app() -> Celery:
    app = make_app(app_arguments(load_settings()))

    @app.task(bind=True, name=TASK_EXECUTE_JOB_NAME, track_started=True)
    def execute_job(task, execute_job_args_packed) -> int:
        """dagster-celery's execute_job, in a warm process with a warm instance."""
        args = unpack_value(execute_job_args_packed, as_type=ExecuteRunArgs)
        code_location.reload_if_changed()
        instance = _warm_instance()
        worker = f"{task.request.hostname or socket.gethostname()} pid {os.getpid()}"
        instance.add_run_tags(args.run_id, {RUN_WORKER_TAG: worker})
        done = threading.Event()
        thread = _interrupt_when_canceled(instance, args.run_id, done)
        try:
            return _execute_run_command_body(
                instance=instance,
                run_id=args.run_id,
                write_stream_fn=lambda _event: None,
                set_exit_code_on_failure=bool(args.set_exit_code_on_failure),
            )
        finally:
            done.set()
            thread.join()

    return app


@signals.worker_init.connect
def _warm_parent(**_) -> None:
    code_location.warm()


@signals.worker_process_init.connect
def _warm_child(**_) -> None:
    global _instance
    _instance = None  # connections are never shared across a fork
    signal.signal(signal.SIGINT, signal.default_int_handler)  # the pool ignores it; cancel uses it
    code_location.reload_if_changed()
    _warm_instance()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dual_ticker.orchestration.run_workers")
    parser.add_argument(
        "--concurrency", type=int, default=1, help="runs at once (prefork children)"
    )
    parser.add_argument("--loglevel", default="INFO")
    parser.add_argument(
        "--ping", action="store_true", help="exit 0 if a worker answers (needs a Redis broker)"
    )
    args = parser.parse_args(argv)
    app = build_app()
    if args.ping:
        return 0 if app.control.ping(timeout=5) else 1
    app.worker_main(
        [
            "worker",
            "--pool=prefork",
            f"--concurrency={args.concurrency}",
            f"--queues={RUN_QUEUE}",
            f"--hostname=dual_ticker-runs-{os.getpid()}@%h",
            f"--loglevel={args.loglevel}",
            "--without-gossip",
            "--without-mingle",
        ]
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
