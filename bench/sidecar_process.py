"""The monitoring sidecar as a real process (`python -m dual_ticker.monitoring`) on a database,
plain HTTP GETs to it, and its memory and CPU read from /proc."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from dual_ticker.settings import PROJECT_ROOT

PATH = "/monitoring/metrics"
REQUEST_TIMEOUT_SECONDS = 5


def free_port() -> int:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        return listener.getsockname()[1]


@contextmanager
def sidecar(url: str, home: Path):
    """`python -m dual_ticker.monitoring` on the database, in its own process group."""
    port = free_port()
    env = {
        **os.environ,
        "DUAL_TICKER_DATABASE_URL": url,
        "DUAL_TICKER_SIDECAR_PORT": str(port),
        "DUAL_TICKER_HOME": str(home),
        "DUAL_TICKER_ENV": "prod",
    }
    log = (home / f"sidecar-{port}.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "dual_ticker.monitoring"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                status, _ = get(port, "/monitoring/health")
                if status in (200, 503):
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the sidecar did not answer; read {log.name}")
            time.sleep(0.1)
        yield process, port
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()


def get(
    port: int, path: str, connection: http.client.HTTPConnection | None = None
) -> tuple[int, bytes]:
    own = connection or http.client.HTTPConnection(
        "127.0.0.1", port, timeout=REQUEST_TIMEOUT_SECONDS
    )
    try:
        own.request("GET", path)
        response = own.getresponse()
        return response.status, response.read()
    finally:
        if connection is None:
            own.close()


def process_stats(pid: int) -> dict:
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    ticks = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(ticks[11]) + int(ticks[12])) / os.sysconf("SC_CLK_TCK")
    return {
        "vm_hwm_mb": round(int(fields["VmHWM"].split()[0]) / 1024, 1),
        "vm_rss_mb": round(int(fields["VmRSS"].split()[0]) / 1024, 1),
        "cpu_seconds": cpu,
    }
