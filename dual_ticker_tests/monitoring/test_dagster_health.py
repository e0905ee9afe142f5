"""Dagster's own storage in the project database: the last successful run, the daemon's health."""

import httpx
import pandas as pd
from dagster._daemon.types import DaemonHeartbeat

from dual_ticker.clock import FixedClock
from dual_ticker.monitoring.app import create_app
from dual_ticker_tests.monitoring.conftest import AFTER_CLOSE
from dual_ticker_tests.support.pipeline import materialize


def test_last_success_comes_from_the_run_storage_and_a_stale_daemon_degrades(
    embedded_database, settings, dagster_instance, serve
):
    clock = FixedClock(AFTER_CLOSE)
    base = serve(create_app(embedded_database, settings, clock))
    assert (
        "last_successful_run_timestamp_seconds 0\n"
        in httpx.get(f"{base}/monitoring/metrics", timeout=10).text
    )

    run = materialize(embedded_database, settings, "2020-12-01", instance=dagster_instance)
    assert run.success
    ended = dagster_instance.get_run_record_by_id(run.run_id).end_time
    text = httpx.get(f"{base}/monitoring/metrics", timeout=10).text
    line = next(
        li for li in text.splitlines() if li.startswith("last_successful_run_timestamp_seconds ")
    )
    assert abs(float(line.split()[1]) - ended) < 1e-3
    assert (
        httpx.get(f"{base}/monitoring/health", timeout=10).json()["components"]["dagster_daemon"]
        == "unknown"
    )

    beat = (clock.now() - pd.Timedelta(minutes=10)).timestamp()
    dagster_instance.add_daemon_heartbeat(DaemonHeartbeat(beat, "SENSOR", "daemon-1", []))
    stale = httpx.get(f"{base}/monitoring/health", timeout=10).json()
    assert stale["status"] == "degraded" and stale["components"]["dagster_daemon"] == "degraded"
    assert "600 s ago" in stale["details"]["dagster_daemon"]

    dagster_instance.add_daemon_heartbeat(
        DaemonHeartbeat(clock.now().timestamp() - 20, "SENSOR", "daemon-1", [])
    )
    alive = httpx.get(f"{base}/monitoring/health", timeout=10).json()
    assert alive["status"] == "healthy" and alive["components"]["dagster_daemon"] == "healthy"
