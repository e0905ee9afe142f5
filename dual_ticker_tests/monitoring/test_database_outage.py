"""The sidecar with its database stopped and started again: a separate embedded PostgreSQL in a
temporary folder (the shared test server keeps running)."""

import subprocess
import sys

import httpx
import pandas as pd
import pytest

from dual_ticker.clock import FixedClock
from dual_ticker.monitoring.app import create_app
from dual_ticker.storage import embedded
from dual_ticker.storage.migrations import apply_migrations

SATURDAY = pd.Timestamp("2020-12-05T17:00Z")


def start_in_another_process(home) -> None:
    # As `make db-start` would: the server outlives the process that started it.
    code = (
        "import sys; from pathlib import Path; from dual_ticker.storage import embedded; "
        "embedded.start(Path(sys.argv[1]))"
    )
    subprocess.run([sys.executable, "-c", code, str(home)], check=True, timeout=60)


@pytest.fixture
def own_server(own_server_home):
    home = own_server_home
    url = embedded.start(home)
    apply_migrations(url)
    yield home, url
    embedded.stop(home)


def test_health_turns_unhealthy_with_the_database_stopped_and_recovers(own_server, settings, serve):
    home, url = own_server
    base = serve(create_app(url, settings, FixedClock(SATURDAY)))
    assert httpx.get(f"{base}/monitoring/health", timeout=10).json()["status"] == "healthy"

    assert embedded.stop(home)
    down = httpx.get(f"{base}/monitoring/health", timeout=10)
    metrics = httpx.get(f"{base}/monitoring/metrics", timeout=10)
    status = httpx.get(f"{base}/monitoring/status", timeout=10)

    assert down.status_code == 503
    assert (
        down.json()["status"] == "unhealthy"
        and down.json()["components"]["database"] == "unhealthy"
    )
    assert "make db-start" in down.json()["details"]["database"]
    assert metrics.status_code == 200
    assert "database_up 0\n" in metrics.text and "market_open 0\n" in metrics.text
    assert "data_quality_failures_total" not in metrics.text  # unknown while down, not zero
    assert status.status_code == 503 and "UNHEALTHY" in status.text

    start_in_another_process(home)
    again = httpx.get(f"{base}/monitoring/health", timeout=10)
    assert again.status_code == 200 and again.json()["status"] == "healthy"
    assert "database_up 1\n" in httpx.get(f"{base}/monitoring/metrics", timeout=10).text
