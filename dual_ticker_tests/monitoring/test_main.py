"""`python -m dual_ticker.monitoring` as `make run` starts it: configured by the environment."""

import os
import signal
import subprocess
import sys
import time

import httpx

from dual_ticker.settings import PROJECT_ROOT
from dual_ticker_tests.support.prometheus import free_port


def test_the_module_serves_the_sidecar_on_the_configured_address(embedded_database, tmp_path):
    port = free_port()
    environment = {
        **os.environ,
        "DUAL_TICKER_DATABASE_URL": embedded_database,
        "DUAL_TICKER_HOME": str(tmp_path),
        "DUAL_TICKER_SIDECAR_HOST": "127.0.0.1",
        "DUAL_TICKER_SIDECAR_PORT": str(port),
    }
    environment.pop("DUAL_TICKER_ENV", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "dual_ticker.monitoring"],
        env=environment,
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        health = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/monitoring/health", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert health is not None, (
            process.stdout.read().decode() if process.poll() is not None else "no answer in 30 s"
        )
        assert health.status_code == 200 and health.json()["components"]["database"] == "healthy"
        metrics = httpx.get(f"http://127.0.0.1:{port}/monitoring/metrics", timeout=5).text
        assert 'data_quality_failures_total{reason="missing_data"} 0\n' in metrics
        status = httpx.get(f"http://127.0.0.1:{port}/monitoring/status", timeout=5).text
        assert status.startswith("dual_ticker: ")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        output = process.communicate(timeout=15)[0].decode()
    assert f"on http://127.0.0.1:{port}/monitoring/health" in output
