"""What the minute-latency benchmark runs against, started and stopped on an ExitStack: a private
prod-shaped home (embedded PostgreSQL, the project's dagster.yaml, a workspace of the bench code
location), loopback Alpha Vantage and Yahoo simulators, and a real `dagster-daemon run`."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from dual_ticker.settings import PROJECT_ROOT

LOCATION = "dual_ticker_bench"


@dataclass(frozen=True)
class MinuteStack:
    home: Path
    dagster_home: Path
    workspace: Path
    clock_file: Path
    simulators: list
    database_url: str
    dequeue_interval_seconds: int


def start_stack(stack: ExitStack, keep: bool) -> MinuteStack:
    """Simulators, environment, instance files and a migrated database; the home is removed on
    exit unless `keep`."""
    from dual_ticker.storage import embedded
    from dual_ticker.storage.migrations import apply_migrations
    from dual_ticker_tests.support.alpha_vantage_server import AlphaVantageSimulator
    from dual_ticker_tests.support.yahoo_server import YahooSimulator

    home = Path(tempfile.mkdtemp(prefix="dt-bench-minute-"))
    dagster_home, workspace = home / "dagster", home / "workspace.yaml"
    clock_file = home / "clock.json"
    simulators = [
        stack.enter_context(AlphaVantageSimulator()),
        stack.enter_context(YahooSimulator()),
    ]
    set_environment(home, dagster_home, clock_file, simulators[0].url, simulators[1].url)
    write_instance(dagster_home, workspace)
    interval = dequeue_interval(dagster_home)
    stack.callback(lambda: shutil.rmtree(home, ignore_errors=True) if not keep else None)
    url = embedded.start(home)
    stack.callback(embedded.stop, home)
    apply_migrations(url)
    return MinuteStack(home, dagster_home, workspace, clock_file, simulators, url, interval)


def start_daemon(stack: ExitStack, minute_stack: MinuteStack):
    """The instance of the private DAGSTER_HOME and a heartbeating daemon: (instance, process)."""
    import dagster as dg

    instance = stack.enter_context(dg.DagsterInstance.get())
    process = stack.enter_context(daemon(minute_stack.home, minute_stack.workspace))
    wait_for_daemon(instance, process)
    return instance, process


def write_instance(dagster_home: Path, workspace: Path) -> None:
    dagster_home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(PROJECT_ROOT / "dagster.yaml", dagster_home / "dagster.yaml")
    workspace.write_text(
        "load_from:\n"
        "  - python_module:\n"
        "      module_name: bench.multiprocess_definitions\n"
        f"      location_name: {LOCATION}\n"
        f"      working_directory: {PROJECT_ROOT}\n"
    )


def dequeue_interval(dagster_home: Path) -> int:
    import yaml

    config = yaml.safe_load((dagster_home / "dagster.yaml").read_text())
    return config["run_coordinator"]["config"]["dequeue_interval_seconds"]


def set_environment(
    home: Path, dagster_home: Path, clock_file: Path, av_url: str, yahoo_url: str
) -> None:
    """This process and every Dagster process it starts see the same prod-shaped environment."""
    os.environ.pop("DUAL_TICKER_DATABASE_URL", None)  # the embedded server in the private home
    os.environ.update(
        {
            "DUAL_TICKER_ENV": "prod",
            "DUAL_TICKER_HOME": str(home),
            "DAGSTER_HOME": str(dagster_home),
            "BENCH_CLOCK_FILE": str(clock_file),
            "ALPHAVANTAGE_BASE_URL": f"{av_url}/query",
            "YAHOO_BASE_URL": yahoo_url,
            "ALPHAVANTAGE_API_KEY": "bench-dummy-key",
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])
            ),
            "PYTHONWARNINGS": "ignore",
        }
    )


@contextmanager
def daemon(home: Path, workspace: Path):
    """`dagster-daemon run` in its own process group (its code server and run workers with it)."""
    log = (home / "daemon.log").open("w")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w", str(workspace)],
        cwd=PROJECT_ROOT,
        env=os.environ.copy(),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        stop_group(process)
        log.close()


def stop_group(process: subprocess.Popen, grace_seconds: float = 20) -> None:
    """SIGTERM to the process group, then SIGKILL to whatever is left of it (code servers and run
    workers outlive the daemon otherwise)."""

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
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                "dagster-daemon exited during start-up; read daemon.log in the bench home"
            )
        if "QUEUED_RUN_COORDINATOR" in instance.get_daemon_heartbeats():
            return
        time.sleep(0.5)
    raise RuntimeError("dagster-daemon did not heartbeat within 90 s")
