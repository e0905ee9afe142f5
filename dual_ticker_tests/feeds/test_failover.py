"""In-run failover over the real clients and simulators: same window, every attempt reported."""

from __future__ import annotations

import pandas as pd
import pytest

from dual_ticker.feeds.alpha_vantage import AlphaVantageFeed
from dual_ticker.feeds.base import FeedThrottled, FeedUnavailable
from dual_ticker.feeds.failover import OK, fetch_with_failover
from dual_ticker.feeds.pacing import RetryPolicy
from dual_ticker.feeds.replay import ReplayFeed
from dual_ticker.feeds.yahoo import YahooFinanceFeed
from dual_ticker.storage.database import connect
from dual_ticker.storage.feed_health import record_request
from dual_ticker_tests.feeds.conftest import CANARY_KEY, LIVE_NOW, unlimited, utc
from dual_ticker_tests.support.simulated_provider import REPLAY_DIR

START = utc("2020-12-18 14:30")
FAST = {
    "limiter": unlimited(),
    "retry": RetryPolicy(attempts=2, delay=0.01),
    "timeout_seconds": 1.0,
}


@pytest.fixture
def feeds(alpha_vantage_server, yahoo_server, yahoo_cache, clock):
    primary = AlphaVantageFeed(CANARY_KEY, f"{alpha_vantage_server.url}/query", clock=clock, **FAST)
    fallback = YahooFinanceFeed(yahoo_cache, yahoo_server.url, clock=clock, **FAST)
    return [primary, fallback]


def test_a_failing_primary_hands_the_same_window_to_the_fallback(
    feeds, alpha_vantage_server, yahoo_server
):
    alpha_vantage_server.set_mode("http_500")
    reports = []
    result = fetch_with_failover(
        "MSFT", START, LIVE_NOW, LIVE_NOW, feeds, lambda *r: reports.append(r)
    )
    assert result.source == "yahoo_finance"
    assert set(result.bars["data_source"]) == {"yahoo_finance"}
    assert list(result.bars["timestamp"]) == list(
        pd.date_range(START, LIVE_NOW, freq="1min", inclusive="left")
    )
    (chart,) = yahoo_server.data_requests()
    assert int(chart.params["period1"]) == int(START.timestamp())
    assert [(r[0], r[1], r[2], r[4]) for r in reports] == [
        ("alpha_vantage", "MSFT", "unavailable", 0),
        ("yahoo_finance", "MSFT", OK, 275),
    ]
    assert all(r[3] >= 0 for r in reports) and "HTTP 500" in reports[0][5]
    assert [(f.feed, f.reason) for f in result.failures] == [("alpha_vantage", "unavailable")]


def test_a_healthy_primary_is_the_only_feed_asked(feeds, alpha_vantage_server, yahoo_server):
    reports = []
    result = fetch_with_failover(
        "MSFT", START, LIVE_NOW, LIVE_NOW, feeds, lambda *r: reports.append(r)
    )
    assert result.source == "alpha_vantage" and result.failures == []
    assert len(result.bars) == 275 and yahoo_server.requests == []
    assert [r[2] for r in reports] == [OK]


def test_when_every_feed_fails_one_line_names_each_failure(
    feeds, alpha_vantage_server, yahoo_server
):
    alpha_vantage_server.set_mode("http_500")
    yahoo_server.set_mode("rate_limited")
    with pytest.raises(FeedThrottled) as raised:
        fetch_with_failover("MSFT", START, LIVE_NOW, LIVE_NOW, feeds)
    message = str(raised.value)
    assert "\n" not in message
    assert "alpha_vantage unavailable" in message and "yahoo_finance throttled" in message


def test_a_fallback_that_cannot_serve_history_is_reported_and_skipped(
    feeds, alpha_vantage_server, yahoo_server
):
    alpha_vantage_server.set_mode("error_message")
    old = LIVE_NOW - pd.Timedelta(days=40)
    reports = []
    with pytest.raises(FeedUnavailable) as raised:  # the primary's failure, not the refusal
        fetch_with_failover(
            "MSFT",
            old,
            old + pd.Timedelta(hours=6),
            old + pd.Timedelta(hours=6),
            feeds,
            lambda *r: reports.append(r),
        )
    assert [r[2] for r in reports] == ["unavailable", "out_of_range"]
    assert "yahoo_finance out_of_range" in str(raised.value)
    assert yahoo_server.requests == []


def test_replay_can_stand_in_as_a_fallback(alpha_vantage_server, clock):
    primary = AlphaVantageFeed(CANARY_KEY, f"{alpha_vantage_server.url}/query", clock=clock, **FAST)
    alpha_vantage_server.set_mode("throttle_note")
    result = fetch_with_failover(
        "NVDA", START, LIVE_NOW, LIVE_NOW, [primary, ReplayFeed(REPLAY_DIR)]
    )
    assert result.source == "replay" and len(result.bars) == 275


def test_every_attempt_is_recorded_durably(feeds, alpha_vantage_server, database_url):
    alpha_vantage_server.set_mode("throttle_information")
    connection = connect(database_url)
    try:
        with connection:

            def record(feed, symbol, outcome, latency, bars, detail):
                record_request(
                    connection, feed, symbol, outcome, latency, bars, detail, run_id="run-1"
                )

            fetch_with_failover("MSFT", START, LIVE_NOW, LIVE_NOW, feeds, record)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT feed, symbol, outcome, bars, detail FROM feed_requests ORDER BY id"
            )
            rows = cursor.fetchall()
    finally:
        connection.close()
    assert [row[:4] for row in rows] == [
        ("alpha_vantage", "MSFT", "throttled", 0),
        ("yahoo_finance", "MSFT", "ok", 275),
    ]
    assert CANARY_KEY not in repr(rows)
