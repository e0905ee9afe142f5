"""What the UI-backfill benchmark runs against: a real `dagster-daemon run` (its backfill daemon
turns the UI's backfill into a run) and a warm run worker (the checkout's dagster.yaml launches
runs into it), each in its own process group, stopped whole."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from dual_ticker.settings import PROJECT_ROOT


def _started(command: list[str], log: Path) -> subprocess.Popen:
    with log.open("w") as out:
        return subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=os.environ.copy(),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


@contextmanager
def daemon(home: Path, workspace: Path):
    """`dagster-daemon run` and `python -m dual_ticker.orchestration.run_workers`; yields the
    daemon's process."""
    bin_dir = Path(sys.executable).parent
    worker = _started(
        [sys.executable, "-m", "dual_ticker.orchestration.run_workers"], home / "run_worker.log"
    )
    process = _started(
        [str(bin_dir / "dagster-daemon"), "run", "-w", str(workspace)], home / "daemon.log"
    )
    try:
        yield process
    finally:
        stop_group(process)
        stop_group(worker)


def stop_group(process: subprocess.Popen, grace_seconds: float = 20) -> None:
    """SIGTERM to the process group, then SIGKILL to whatever is left of it (code servers and pool
    children outlive their parent otherwise)."""

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


def wait_for_daemon(instance, process, timeout: float = 90) -> None:
    """Until the daemon's backfill loop heartbeats (it is what picks up a UI backfill)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                "dagster-daemon exited during start-up; read daemon.log in the bench home"
            )
        if "BACKFILL" in instance.get_daemon_heartbeats():
            return
        time.sleep(0.5)
    raise RuntimeError(f"dagster-daemon's backfill loop did not heartbeat within {timeout:.0f} s")
