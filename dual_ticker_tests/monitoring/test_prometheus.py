"""A real Prometheus scraping the sidecar, promtool on the metrics, rules and their unit tests, and
the Grafana dashboard's queries run against the scraped series."""

import json
import re
import subprocess

import httpx
import pandas as pd
import pytest

from dual_ticker.clock import FixedClock
from dual_ticker.monitoring.app import create_app
from dual_ticker.settings import PROJECT_ROOT
from dual_ticker_tests.monitoring.conftest import BLOCKED_SESSION, missing_minutes_replay
from dual_ticker_tests.support.pipeline import materialize
from dual_ticker_tests.support.prometheus import (
    SKIP_REASON,
    PrometheusServer,
    prometheus_binary,
    promtool_binary,
)

DEPLOY = PROJECT_ROOT / "deploy"
RULES = DEPLOY / "prometheus" / "alerts.yml"
DASHBOARD = DEPLOY / "grafana" / "dual_ticker.json"
IN_SESSION = pd.Timestamp("2020-12-02T20:30Z")  # 15:30 New York
PROMQL_WORDS = {
    "sum",
    "by",
    "without",
    "rate",
    "increase",
    "histogram_quantile",
    "time",
    "on",
    "and",
    "or",
    "unless",
    "ignoring",
    "group_left",
    "group_right",
    "le",
    "feed",
    "symbol",
    "source",
    "reason",
    "session",
    "outcome",
    "m",
    "h",
    "s",
}
needs_promtool = pytest.mark.skipif(promtool_binary() is None, reason=SKIP_REASON)
needs_prometheus = pytest.mark.skipif(prometheus_binary() is None, reason=SKIP_REASON)


def promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([promtool_binary(), *args], capture_output=True, text=True, timeout=60)


def dashboard_queries() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [target["expr"] for panel in panels for target in panel.get("targets", [])]


def metric_names(expr: str) -> set[str]:
    without_labels = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\"[^\"]*\"", " ", expr)
    words = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", without_labels))
    return {word for word in words if word not in PROMQL_WORDS}


def exposed_names(text: str) -> set[str]:
    return {
        re.split(r"[{ ]", line, maxsplit=1)[0]
        for line in text.splitlines()
        if line and not line.startswith("#")
    }


@needs_promtool
def test_alert_rules_pass_promtool_check_and_their_unit_tests():
    checked = promtool("check", "rules", str(RULES))
    assert checked.returncode == 0 and "SUCCESS: 7 rules found" in checked.stdout, (
        checked.stdout + checked.stderr
    )
    config = promtool("check", "config", str(DEPLOY / "prometheus" / "prometheus.yml"))
    assert config.returncode == 0, config.stdout + config.stderr
    tested = promtool("test", "rules", str(DEPLOY / "prometheus" / "alerts_test.yml"))
    assert tested.returncode == 0 and "SUCCESS" in tested.stdout, tested.stdout + tested.stderr


def test_every_dashboard_query_uses_metrics_the_sidecar_exposes(
    embedded_database, settings, serve, dagster_instance
):
    assert materialize(embedded_database, settings, "2020-12-01", instance=dagster_instance).success
    base = serve(create_app(embedded_database, settings, FixedClock(IN_SESSION)))
    exposed = exposed_names(httpx.get(f"{base}/monitoring/metrics", timeout=10).text)
    queries = dashboard_queries()
    assert len(queries) >= 15
    for expr in queries:
        assert metric_names(expr), expr
        assert metric_names(expr) <= exposed, f"{expr}: {metric_names(expr) - exposed} not exposed"


@needs_prometheus
def test_a_real_prometheus_scrapes_the_sidecar_and_evaluates_the_rules(
    embedded_database, settings, serve, tmp_path, dagster_instance
):
    passed = materialize(embedded_database, settings, "2020-12-01", instance=dagster_instance)
    assert passed.success
    blocked = materialize(
        embedded_database,
        settings,
        BLOCKED_SESSION,
        instance=dagster_instance,
        replay_dir=missing_minutes_replay(tmp_path / "gappy", minutes=40),
    )
    assert not blocked.success
    base = serve(create_app(embedded_database, settings, FixedClock(IN_SESSION)))
    target = base.removeprefix("http://")

    with PrometheusServer([target], tmp_path / "prometheus", rule_files=[RULES]) as prometheus:
        [up] = prometheus.wait_for('up{job="dual_ticker_sidecar"} == 1')
        assert up["metric"]["instance"] == target
        [missing] = prometheus.wait_for('data_quality_failures_total{reason="missing_data"}')
        assert missing["value"][1] == "1"
        assert {
            s["metric"]["reason"]: s["value"][1]
            for s in prometheus.query("data_quality_failures_total")
        } == {
            "missing_data": "1",
            "ohlc_violation": "0",
            "volume": "0",
            "price_jump": "0",
            "indicator_bounds": "0",
            "timestamp": "0",
        }
        assert prometheus.query("market_open")[0]["value"][1] == "1"
        assert {s["metric"]["symbol"] for s in prometheus.query("data_fresh == 0")} == {
            "NVDA",
            "MSFT",
        }
        assert (
            prometheus.query('feed_request_latency_seconds_count{feed="replay"}')[0]["value"][1]
            == "4"
        )

        groups = prometheus.api("rules")["groups"]
        assert {rule["name"] for rule in groups[0]["rules"]} >= {
            "DualTickerDataStale",
            "DualTickerQualityGateFailing",
            "DualTickerFeedFailedOver",
            "DualTickerPipelineNotRunning",
        }
        assert all(rule["health"] != "err" for rule in groups[0]["rules"])
        alerts = prometheus.wait_for(
            'ALERTS{alertname=~"DualTickerQualityGateFailing|DualTickerDataStale"}',
            predicate=lambda result: len(result) >= 3,
        )
        assert {
            (a["metric"]["alertname"], a["metric"].get("symbol", a["metric"].get("session")))
            for a in alerts
        } == {
            ("DualTickerQualityGateFailing", BLOCKED_SESSION),
            ("DualTickerDataStale", "NVDA"),
            ("DualTickerDataStale", "MSFT"),
        }
        assert not prometheus.query('ALERTS{alertname="DualTickerFeedFailedOver"}')

        ended = dagster_instance.get_run_record_by_id(passed.run_id).end_time
        [last] = prometheus.query("last_successful_run_timestamp_seconds")
        assert float(last["value"][1]) == pytest.approx(ended)
        for expr in dashboard_queries():  # every panel's query runs on the real series
            result = prometheus.query(expr)
            if "rate(" not in expr and "increase(" not in expr:
                assert result, f"no data for panel query {expr}"
