"""`make run` fails whole: a taken port stops it before anything starts, with one line saying
which port and how to pick another; a process dying later takes the whole stack down."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from dual_ticker.storage import embedded

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _environment(home: Path, **variables: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "DUAL_TICKER_"))}
    return env | {"DUAL_TICKER_HOME": str(home)} | variables


def _stack_processes(home: Path) -> list[str]:
    """Live processes started for this DUAL_TICKER_HOME (every one of the stack inherits it)."""
    found = []
    for process in psutil.process_iter(["pid", "cmdline", "status"]):
        try:
            if process.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            if process.environ().get("DUAL_TICKER_HOME") == str(home):
                found.append(f"{process.pid}: {' '.join(process.info['cmdline'] or [])[:120]}")
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dual_ticker", "run", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def taken_port():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


@pytest.fixture
def home(tmp_path):
    home = tmp_path / "home"
    yield home
    # Only matters when a regression left something running: never leak it into other tests.
    for process in psutil.process_iter():
        try:
            if process.environ().get("DUAL_TICKER_HOME") == str(home):
                process.kill()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    embedded.stop(home)


def test_a_taken_ui_port_stops_make_run_before_anything_starts(taken_port, home):
    # No DUAL_TICKER_DATABASE_URL: a run that got past the check would start an embedded server.
    env = _environment(home, DUAL_TICKER_SIDECAR_PORT=str(_free_port()))
    done = _run(env, "--ui-port", str(taken_port))
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        f"error: port {taken_port} on 127.0.0.1 (Dagster UI) is in use: "
        "free it or choose another with make run UI_PORT=... (--ui-port)"
    ]
    assert _stack_processes(home) == []
    assert not (home / "pgdata").exists()


def test_a_taken_sidecar_port_names_its_variable(taken_port, home):
    env = _environment(home, DUAL_TICKER_SIDECAR_PORT=str(taken_port))
    done = _run(env, "--ui-port", str(_free_port()))
    assert done.returncode == 1
    (line,) = done.stderr.splitlines()
    assert f"port {taken_port} on 127.0.0.1 (monitoring sidecar) is in use" in line
    assert "DUAL_TICKER_SIDECAR_PORT" in line
    assert _stack_processes(home) == []
    assert not (home / "pgdata").exists()


def _stack_process(home: Path, *arguments: str) -> psutil.Process | None:
    """The live process of this home's stack whose command line holds `arguments` in order."""
    for process in psutil.process_iter(["cmdline"]):
        command = process.info["cmdline"] or []
        try:
            if any(
                command[i : i + len(arguments)] == list(arguments) for i in range(len(command))
            ) and process.environ().get("DUAL_TICKER_HOME") == str(home):
                return process
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return None


@pytest.mark.slow
def test_dagster_dev_dying_takes_its_webserver_and_daemon_down_too(embedded_database, home):
    """`dagster dev` killed outright cannot stop its children: the launcher stops its group."""
    env = _environment(
        home,
        DUAL_TICKER_DATABASE_URL=embedded_database,
        DUAL_TICKER_SIDECAR_PORT=str(_free_port()),
    )
    stack = subprocess.Popen(
        [sys.executable, "-m", "dual_ticker", "run", "--ui-port", str(_free_port())],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 90
    while _stack_process(home, "-m", "dagster._daemon") is None:
        assert stack.poll() is None and time.monotonic() < deadline, "the daemon never started"
        time.sleep(0.5)
    _stack_process(home, "dev", "-w").kill()
    assert stack.wait(timeout=120) == 1
    assert _stack_processes(home) == []
