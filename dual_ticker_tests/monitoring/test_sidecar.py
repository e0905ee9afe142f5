"""The sidecar over real HTTP on the test databases: health, metrics from durable state, status."""

import subprocess

import httpx
import pandas as pd
import psycopg2
import pytest

from dual_ticker.clock import FixedClock
from dual_ticker.monitoring.app import create_app
from dual_ticker.storage.migrations import timescaledb_enabled
from dual_ticker_tests.monitoring.conftest import (
    AFTER_CLOSE,
    BLOCKED_SESSION,
    missing_minutes_replay,
)
from dual_ticker_tests.support.pipeline import check_evaluations, materialize
from dual_ticker_tests.support.prometheus import SKIP_REASON, promtool_binary

IN_SESSION = pd.Timestamp("2020-12-02T15:00Z")  # 10:00 New York


def sample_lines(text: str) -> dict[str, str]:
    return dict(
        line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#")
    )


def test_health_is_healthy_on_a_healthy_system(database_url, settings, serve):
    assert materialize(database_url, settings, "2020-12-01").success
    base = serve(create_app(database_url, settings, FixedClock(AFTER_CLOSE)))

    reply = httpx.get(f"{base}/monitoring/health", timeout=10)

    assert reply.status_code == 200
    body = reply.json()
    assert body["status"] == "healthy"
    assert body["components"] == {
        "database": "healthy",
        "feeds": "healthy",
        "data_freshness": "healthy",
        "quality_gate": "healthy",
        "dagster_daemon": "unknown",
        "timescaledb": "healthy" if timescaledb_enabled(database_url) else "unknown",
    }, body["details"]


def test_a_fresh_offline_system_is_healthy_with_unknowns(database_url, settings, serve):
    base = serve(
        create_app(database_url, settings, FixedClock(pd.Timestamp("2020-12-05T17:00Z")))
    )  # Saturday
    body = httpx.get(f"{base}/monitoring/health", timeout=10).json()
    assert body["status"] == "healthy"
    assert body["components"] == {
        "database": "healthy",
        "feeds": "unknown",
        "data_freshness": "unknown",
        "quality_gate": "unknown",
        "dagster_daemon": "unknown",
        "timescaledb": "healthy" if timescaledb_enabled(database_url) else "unknown",
    }


def test_quality_failures_start_at_zero_and_count_up_after_a_blocked_run(
    embedded_database, settings, serve, tmp_path
):
    base = serve(create_app(embedded_database, settings, FixedClock(IN_SESSION)))
    before = httpx.get(f"{base}/monitoring/metrics", timeout=10)
    assert before.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert 'data_quality_failures_total{reason="missing_data"} 0\n' in before.text
    zeros = sample_lines(before.text)
    for reason in (
        "missing_data",
        "ohlc_violation",
        "volume",
        "price_jump",
        "indicator_bounds",
        "timestamp",
    ):
        assert zeros[f'data_quality_failures_total{{reason="{reason}"}}'] == "0"

    replay = missing_minutes_replay(tmp_path / "gappy", minutes=40)
    result = materialize(embedded_database, settings, BLOCKED_SESSION, replay_dir=replay)
    assert not result.success
    missing = check_evaluations(result)["check_raw_bars_missing_data"]
    assert not missing.passed and missing.severity.value == "ERROR"  # a block, not a crash

    after = sample_lines(httpx.get(f"{base}/monitoring/metrics", timeout=10).text)
    assert after['data_quality_failures_total{reason="missing_data"}'] == "1"
    assert after['data_quality_failures_total{reason="ohlc_violation"}'] == "0"
    assert after[f'data_quality_gate_passing{{session="{BLOCKED_SESSION}"}}'] == "0"
    assert int(after['data_bars_ingested_total{source="replay",symbol="MSFT"}']) > 300
    assert after['feed_requests_total{feed="replay",outcome="ok"}'] == "2"
    assert after['feed_request_latency_seconds_count{feed="replay"}'] == "2"
    assert after['feed_request_latency_seconds_bucket{feed="replay",le="+Inf"}'] == "2"
    assert after['feed_active{feed="replay"}'] == "1" and after["feed_failovers_total"] == "0"
    assert after["market_open"] == "1" and after["database_up"] == "1"
    assert (
        after['position_quantity{symbol="NVDA"}'] == "0" and after["portfolio_value_dollars"] == "0"
    )

    health = httpx.get(f"{base}/monitoring/health", timeout=10)
    assert health.status_code == 200 and health.json()["status"] == "degraded"
    assert health.json()["components"]["quality_gate"] == "degraded"
    assert "missing_data" in health.json()["details"]["quality_gate"]


def test_stale_data_during_market_hours_degrades_and_status_says_why(
    embedded_database, settings, serve
):
    assert materialize(embedded_database, settings, "2020-12-01").success
    base = serve(create_app(embedded_database, settings, FixedClock(IN_SESSION)))

    body = httpx.get(f"{base}/monitoring/health", timeout=10).json()
    metrics = sample_lines(httpx.get(f"{base}/monitoring/metrics", timeout=10).text)
    status = httpx.get(f"{base}/monitoring/status", timeout=10)

    assert body["status"] == "degraded" and body["components"]["data_freshness"] == "degraded"
    assert metrics['data_fresh{symbol="NVDA"}'] == "0" and metrics["market_open"] == "1"
    # 15:00 UTC on 12-02 minus the end of 12-01's last bar (21:00 UTC): 18 hours.
    assert float(metrics['data_freshness_seconds{symbol="MSFT"}']) == 18 * 3600
    assert status.headers["content-type"].startswith("text/plain")
    assert status.text.splitlines()[0].startswith("dual_ticker: DEGRADED")
    assert any(
        line.split()[:2] == ["data_freshness", "degraded"] for line in status.text.splitlines()
    )
    assert "portfolio" in status.text

    after_close = serve(create_app(embedded_database, settings, FixedClock(AFTER_CLOSE)))
    fresh = sample_lines(httpx.get(f"{after_close}/monitoring/metrics", timeout=10).text)
    assert fresh['data_fresh{symbol="NVDA"}'] == "1" and fresh["market_open"] == "0"


@pytest.mark.skipif(promtool_binary() is None, reason=SKIP_REASON)
def test_promtool_accepts_the_metrics(embedded_database, settings, serve, tmp_path):
    assert materialize(embedded_database, settings, "2020-12-01").success
    base = serve(create_app(embedded_database, settings, FixedClock(AFTER_CLOSE)))
    text = httpx.get(f"{base}/monitoring/metrics", timeout=10).text
    assert "feed_request_latency_seconds_bucket" in text
    checked = subprocess.run(
        [promtool_binary(), "check", "metrics"],
        input=text,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.strip() == "" and checked.stderr.strip() == "", (
        checked.stdout + checked.stderr
    )


def _sidecar_backends(database_url: str) -> set[int]:
    with psycopg2.connect(database_url) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = 'dual_ticker'"
        )
        return {row[0] for row in cursor.fetchall()}


def test_scrapes_reuse_a_kept_connection(database_url, settings, serve):
    """A scrape does not pay for a new PostgreSQL session (a server process per request): the
    sidecar keeps its connection between requests."""
    base = serve(create_app(database_url, settings, FixedClock(AFTER_CLOSE)))
    assert httpx.get(f"{base}/monitoring/metrics", timeout=10).status_code == 200
    kept = _sidecar_backends(database_url)
    for _ in range(20):
        assert httpx.get(f"{base}/monitoring/metrics", timeout=10).status_code == 200
    assert kept and _sidecar_backends(database_url) == kept
