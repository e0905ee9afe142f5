"""A warm run-worker stack for tests: a private Dagster home with the project's dagster.yaml on a
test database, real `python -m dual_ticker.orchestration.run_workers` processes, and minute runs
launched through the instance as the DefaultRunCoordinator launches a submitted run
(RunWorkerLauncher -> Celery broker in PostgreSQL -> worker)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
from dagster._core.definitions.reconstruct import ReconstructableRepository
from dagster._core.storage.dagster_run import DagsterRunStatus

from dual_ticker.calendar.as_of import AS_OF_TAG

ROOT = Path(__file__).resolve().parents[2]
SESSION = "2020-12-18"
DONE = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}


def stack_environment(
    home: Path, database_url: str, code_dir: Path = ROOT, env: str = "dev"
) -> dict[str, str]:
    """The variables every process of the stack (and this test process) sees. A stack with a
    daemon takes env="ci": its wall clock leaves the minute schedule off."""
    dagster_home = home / "dagster"
    dagster_home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ROOT / "dagster.yaml", dagster_home / "dagster.yaml")
    return {
        "DAGSTER_HOME": str(dagster_home),
        "DUAL_TICKER_HOME": str(home),
        "DUAL_TICKER_DATABASE_URL": database_url,
        "DUAL_TICKER_ENV": env,
        "DUAL_TICKER_REPLAY_DIR": str(ROOT / "data" / "replay"),
        "PYTHONPATH": str(code_dir),
        "PYTHONWARNINGS": "ignore",
    }


@contextmanager
def run_worker(environment: dict[str, str], log: Path, concurrency: int = 1, cwd: Path = ROOT):
    """One Celery run worker (parent and prefork children) in its own process group."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "DUAL_TICKER_"))}
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "dual_ticker.orchestration.run_workers"]
            + [f"--concurrency={concurrency}"],
            env=env | environment,
            cwd=cwd,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield process
        finally:
            stop(process)


@contextmanager
def daemon(environment: dict[str, str], home: Path, code_dir: Path = ROOT):
    """`dagster-daemon run` (run monitoring among its daemons) on a workspace of the project."""
    workspace = home / "workspace.yaml"
    workspace.write_text(
        "load_from:\n  - python_module:\n      module_name: dual_ticker.definitions\n"
        f"      working_directory: {code_dir}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "DUAL_TICKER_"))}
    with (home / "daemon.log").open("w") as output:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w", str(workspace)],
            env=env | environment,
            cwd=code_dir,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield process
        finally:
            stop(process)


def stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # children left behind by the parent
    except ProcessLookupError:
        pass


def submit_minute_run(instance: dg.DagsterInstance, as_of: str, code_dir: Path = ROOT) -> str:
    """Creates a minute run of the session and launches it through the instance's launcher."""
    repository = ReconstructableRepository.for_module(
        "dual_ticker.definitions", "defs", working_directory=str(code_dir)
    )
    recon = repository.get_reconstructable_job("minute_job")
    job = recon.get_definition()
    run = instance.create_run_for_job(
        job_def=job,
        tags={**job.tags, "dagster/partition": SESSION, AS_OF_TAG: as_of},
        job_code_origin=recon.get_python_origin(),
        status=DagsterRunStatus.NOT_STARTED,
    )
    instance.launch_run(run.run_id, workspace=None)  # what DefaultRunCoordinator.submit_run does
    return run.run_id


def wait_for(instance: dg.DagsterInstance, run_id: str, statuses=DONE, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = instance.get_run_by_id(run_id)
        if run.status in statuses:
            return run
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} still {run.status} after {timeout} s")
