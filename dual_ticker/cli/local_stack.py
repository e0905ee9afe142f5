"""What `make run` starts: the embedded database, Dagster (web UI + daemon) and the monitoring
sidecar, each in its own process group, all stopped together on Ctrl-C."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from dual_ticker.cli.ports import Listener, require_free
from dual_ticker.clock.replay import start_replay
from dual_ticker.settings import PROJECT_ROOT, Settings
from dual_ticker.storage import embedded
from dual_ticker.storage.database import redact
from dual_ticker.storage.ready import open_database


def prepare(settings: Settings) -> dict[str, str]:
    """Starts the database if needed, migrates it, and returns the environment Dagster runs in."""
    url = open_database(settings)
    dagster_home = settings.home / "dagster"
    dagster_home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(PROJECT_ROOT / "dagster.yaml", dagster_home / "dagster.yaml")
    print(f"database: {redact(url)} (migrated)")
    return {**os.environ, "DAGSTER_HOME": str(dagster_home), "DUAL_TICKER_HOME": str(settings.home)}


def _bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stop(process: subprocess.Popen, grace_seconds: float = 15) -> None:
    """Stops the process's whole group: a leader that already exited (dagster dev after its
    webserver died) may have left children behind (the daemon, a code server)."""
    group = process.pid  # each process was started as the leader of its own group
    if not _group_alive(group):
        process.poll()
        return
    # SIGINT, as Ctrl-C would: `dagster dev` ignores SIGTERM and shuts its children down on SIGINT.
    os.killpg(group, signal.SIGINT)
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline:
        process.poll()
        if not _group_alive(group):
            return
        time.sleep(0.1)
    if _group_alive(group):
        os.killpg(group, signal.SIGKILL)
    process.wait()


def _listeners(settings: Settings, ui_port: int) -> list[Listener]:
    endpoints = settings.endpoints
    return [
        Listener("Dagster UI", "127.0.0.1", ui_port, "make run UI_PORT=... (--ui-port)"),
        Listener(
            "monitoring sidecar",
            endpoints.sidecar_host,
            endpoints.sidecar_port,
            "DUAL_TICKER_SIDECAR_PORT",
        ),
    ]


def run(settings: Settings, ui_port: int = 3000) -> int:
    # Before anything starts: a taken port leaves no database, daemon or sidecar behind.
    require_free(_listeners(settings, ui_port))
    started_database = settings.database_url is None and embedded.running_url(settings.home) is None
    environment = prepare(settings)
    replay = start_replay(settings)
    if replay is not None:
        shown = replay.recorded_start.tz_convert("America/New_York")
        print(
            f"replaying from {shown:%Y-%m-%d %H:%M} New York as if live (clock.mode in config/{settings.env}.yaml)"
        )
    commands = {
        "dagster": [
            _bin("dagster"),
            "dev",
            "-w",
            str(PROJECT_ROOT / "workspace.yaml"),
            "-h",
            "127.0.0.1",
            "-p",
            str(ui_port),
        ],
        "sidecar": [sys.executable, "-m", "dual_ticker.monitoring"],
        # Warm Celery run workers: dagster.yaml's run launcher sends every run to them.
        "run_worker": [sys.executable, "-m", "dual_ticker.orchestration.run_workers"],
    }

    def start(name: str) -> subprocess.Popen:
        return subprocess.Popen(
            commands[name], env=environment, cwd=PROJECT_ROOT, start_new_session=True
        )

    processes = {
        name: start(name)
        for name in commands
        if name != "sidecar"
        or (PROJECT_ROOT / "dual_ticker" / "monitoring" / "__main__.py").exists()
    }
    endpoints = settings.endpoints
    print(
        f"Dagster UI:  http://127.0.0.1:{ui_port}  (assets, checks, runs; daemon runs schedules and sensors)"
    )
    if "sidecar" in processes:
        print(
            f"Monitoring:  http://{endpoints.sidecar_host}:{endpoints.sidecar_port}/monitoring/health"
        )
    print("Stop with Ctrl-C.")
    stopping = False

    def _interrupt(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    code = 0
    try:
        while not stopping:
            if processes["run_worker"].poll() is not None:
                print(f"run worker exited ({processes['run_worker'].returncode}): starting another")
                processes["run_worker"] = start("run_worker")
            exited = {name: p.returncode for name, p in processes.items() if p.poll() is not None}
            if exited:
                print(f"stopped unexpectedly: {exited}; stopping the rest")
                code = 1
                break
            time.sleep(0.5)
    finally:
        for process in processes.values():
            _stop(process)
        if started_database:
            embedded.stop(settings.home)
        print("stopped")
    return code
