"""TimescaleDB where users look: the sidecar's health and metrics report chunks, compression and
background jobs on TimescaleDB only, and a job that fails for real (run by TimescaleDB's own
scheduler) degrades health and raises one WARN alert until it succeeds."""

import time

import httpx
import pandas as pd

from dual_ticker.clock import FixedClock
from dual_ticker.monitoring.app import create_app
from dual_ticker.monitoring.job_alerts import alert_failed_jobs
from dual_ticker.storage import timescale
from dual_ticker.storage.database import transaction
from dual_ticker_tests.monitoring.conftest import AFTER_CLOSE
from dual_ticker_tests.support.databases import autocommit
from dual_ticker_tests.support.pipeline import materialize

FAILING_JOB = """
CREATE OR REPLACE PROCEDURE failing_job(job_id int, config jsonb) LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT fail FROM job_switch) THEN RAISE EXCEPTION 'the job failed on purpose'; END IF;
END $$;
CREATE TABLE job_switch (fail boolean NOT NULL);
INSERT INTO job_switch VALUES (true);
"""


def _health(base: str) -> dict:
    return httpx.get(f"{base}/monitoring/health", timeout=10).json()


def test_health_and_metrics_report_chunks_and_compression_on_timescaledb_only(
    database_url, settings, serve
):
    assert materialize(database_url, settings, "2020-12-01").success
    base = serve(create_app(database_url, settings, FixedClock(AFTER_CLOSE)))
    body = _health(base)
    metrics = httpx.get(f"{base}/monitoring/metrics", timeout=10).text
    with transaction(database_url) as connection:
        on_timescaledb = timescale.enabled(connection)
    if not on_timescaledb:
        assert body["components"]["timescaledb"] == "unknown"
        assert "plain PostgreSQL" in body["details"]["timescaledb"]
        assert "timescaledb_" not in metrics
        return
    assert body["components"]["timescaledb"] == "healthy", body["details"]
    assert "raw_bars 1 chunks, 0 compressed" in body["details"]["timescaledb"]
    assert 'timescaledb_chunks{hypertable="raw_bars"} 1' in metrics
    assert 'timescaledb_compressed_chunks{hypertable="dual_ticker_bars"} 0' in metrics
    autocommit(database_url, "SELECT compress_chunk(c) FROM show_chunks('dual_ticker_bars') c")
    metrics = httpx.get(f"{base}/monitoring/metrics", timeout=10).text
    ratio = [
        line for line in metrics.splitlines() if line.startswith("timescaledb_compression_ratio")
    ]
    assert len(ratio) == 1 and float(ratio[0].rsplit(" ", 1)[1]) > 1, ratio
    assert 'timescaledb_job_last_run_failed{hypertable="raw_bars"' in metrics


def _wait_for_status(url: str, job_id: int, status: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        [(last,)] = autocommit(
            url,
            f"SELECT last_run_status FROM timescaledb_information.job_stats WHERE job_id = {job_id}",
        ) or [(None,)]
        if last == status:
            return
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} did not reach {status} within 60 s")


def test_a_failed_job_degrades_health_and_alerts_once_until_it_succeeds(
    timescale_database, settings, serve
):
    url = timescale_database
    autocommit(url, FAILING_JOB)
    [(job_id,)] = autocommit(
        url, "SELECT add_job('failing_job', '1 second', initial_start => now())"
    )
    _wait_for_status(url, job_id, "Failed")  # run by TimescaleDB's scheduler, not by us
    base = serve(create_app(url, settings, FixedClock(AFTER_CLOSE)))
    body = _health(base)
    assert body["components"]["timescaledb"] == "degraded"
    assert f"failing_job on - (job {job_id})" in body["details"]["timescaledb"]
    metrics = httpx.get(f"{base}/monitoring/metrics", timeout=10).text
    assert f'timescaledb_job_last_run_failed{{hypertable="",job_id="{job_id}"' in metrics

    at = pd.Timestamp("2026-01-02T00:00Z").to_pydatetime()
    with transaction(url) as connection:
        assert alert_failed_jobs(connection, at) == 1
    time.sleep(2)  # it fails again on its next schedule: the same episode, no new alert
    with transaction(url) as connection:
        assert alert_failed_jobs(connection, at) == 0
    [(severity, message)] = autocommit(
        url, "SELECT severity, message FROM alerts WHERE kind = 'timescaledb_job'"
    )
    assert severity == "WARN" and f"job {job_id} (failing_job" in message

    autocommit(url, "UPDATE job_switch SET fail = false")
    _wait_for_status(url, job_id, "Success")
    with transaction(url) as connection:
        assert alert_failed_jobs(connection, at) == 0  # closes the episode
    assert _health(base)["components"]["timescaledb"] == "healthy"
    autocommit(url, "UPDATE job_switch SET fail = true")
    _wait_for_status(url, job_id, "Failed")
    with transaction(url) as connection:
        assert alert_failed_jobs(connection, at) == 1  # a new episode, a new alert
    autocommit(url, f"SELECT delete_job({job_id})")
