"""The Alpha Vantage client against its loopback simulator: requests, faults, retries, deadline."""

from __future__ import annotations

import json
import time

import httpx
import pandas as pd
import pytest

from dual_ticker.calendar.nyse import NEW_YORK
from dual_ticker.feeds.alpha_vantage import AlphaVantageFeed
from dual_ticker.feeds.base import (
    FeedEmpty,
    FeedStale,
    FeedThrottled,
    FeedUnavailable,
    FeedUnparseable,
)
from dual_ticker.feeds.pacing import RetryPolicy
from dual_ticker.settings import Endpoints, FeedSettings
from dual_ticker_tests.feeds.conftest import CANARY_KEY, FIXTURES, LIVE_NOW, unlimited, utc

SESSION_OPEN = utc("2020-12-18 14:30")
SESSION_CLOSE = utc("2020-12-18 21:00")
LIVE_START = LIVE_NOW - pd.Timedelta(minutes=30)


def feed_for(server, clock, **options) -> AlphaVantageFeed:
    options = {
        "retry": RetryPolicy(attempts=3, delay=0.01),
        "limiter": unlimited(),
        "clock": clock,
        "timeout_seconds": 2.0,
        "deadline_seconds": 10.0,
    } | options
    return AlphaVantageFeed(CANARY_KEY, f"{server.url}/query", **options)


def test_live_window_asks_compact_with_the_documented_parameters(alpha_vantage_server, clock):
    bars = feed_for(alpha_vantage_server, clock, entitlement="realtime").fetch_intraday(
        "msft", LIVE_START, SESSION_CLOSE, LIVE_NOW
    )
    (request,) = alpha_vantage_server.data_requests()
    assert request.params == {
        "function": "TIME_SERIES_INTRADAY",
        "symbol": "MSFT",
        "interval": "1min",
        "outputsize": "compact",
        "extended_hours": "false",
        "adjusted": "true",
        "datatype": "json",
        "entitlement": "realtime",
        "apikey": CANARY_KEY,
    }
    assert bars["timestamp"].iloc[0] == LIVE_START
    assert bars["timestamp"].iloc[-1] == LIVE_NOW - pd.Timedelta(
        minutes=1
    )  # complete by as_of only
    assert bars["timestamp"].is_monotonic_increasing and set(bars["data_source"]) == {
        "alpha_vantage"
    }


def test_the_simulator_speaks_the_recorded_wire_format(alpha_vantage_server):
    recorded = json.loads(
        (FIXTURES / "alpha_vantage" / "msft_1min_compact_2017-12-18.json").read_text()
    )
    params = {
        "function": "TIME_SERIES_INTRADAY",
        "symbol": "MSFT",
        "interval": "1min",
        "outputsize": "compact",
        "extended_hours": "false",
        "apikey": CANARY_KEY,
    }
    served = httpx.get(f"{alpha_vantage_server.url}/query", params=params).json()
    assert list(served) == list(recorded)
    assert list(served["Meta Data"]) == list(recorded["Meta Data"])
    assert served["Meta Data"]["6. Time Zone"] == "US/Eastern"
    series = served["Time Series (1min)"]
    assert len(series) == 100 and list(series) == sorted(series, reverse=True)  # newest first
    first = next(iter(series.values()))
    assert list(first) == list(next(iter(recorded["Time Series (1min)"].values())))
    assert all(isinstance(value, str) for value in first.values())
    # Labels are bar starts: at 14:05 New York time the newest complete bar starts 14:04.
    assert served["Meta Data"]["3. Last Refreshed"] == next(iter(series)) == "2020-12-18 14:04:00"


def test_history_asks_one_full_month_per_month_touched(alpha_vantage_server, clock):
    start, end = utc("2020-11-30 14:30"), utc("2020-12-01 21:00")
    feed = feed_for(alpha_vantage_server, clock, entitlement=None)
    bars = feed.fetch_intraday("MSFT", start, end, end)
    requests = alpha_vantage_server.data_requests()
    assert [(r.params["month"], r.params["outputsize"]) for r in requests] == [
        ("2020-11", "full"),
        ("2020-12", "full"),
    ]
    assert all("entitlement" not in r.params for r in requests)
    assert len(bars) == 2 * 390
    local = bars["timestamp"].dt.tz_convert(NEW_YORK)
    assert local.iloc[0] == pd.Timestamp("2020-11-30 09:30", tz=NEW_YORK)
    assert local.iloc[-1] == pd.Timestamp("2020-12-01 15:59", tz=NEW_YORK)


def test_five_minute_bars_are_labelled_by_their_start(alpha_vantage_server, clock):
    clock.at = SESSION_CLOSE + pd.Timedelta(minutes=5)
    alpha_vantage_server.set_now(clock.at)
    bars = feed_for(alpha_vantage_server, clock, interval="5min").fetch_intraday(
        "MSFT", SESSION_OPEN, SESSION_CLOSE, SESSION_CLOSE
    )
    assert alpha_vantage_server.data_requests()[0].params["interval"] == "5min"
    assert len(bars) == 78
    assert bars["timestamp"].iloc[0] == SESSION_OPEN
    assert (bars["timestamp"].diff().dropna() == pd.Timedelta(minutes=5)).all()


@pytest.mark.parametrize(
    "fault, error, requests",
    [
        ("http_500", FeedUnavailable, 3),
        ("http_429", FeedThrottled, 3),
        ("throttle_note", FeedThrottled, 1),
        ("throttle_information", FeedThrottled, 1),
        ("premium_information", FeedUnavailable, 1),
        ("error_message", FeedUnavailable, 1),
        ("malformed_json", FeedUnparseable, 1),
        ("missing_series", FeedUnparseable, 1),
        ("empty_series", FeedEmpty, 1),
        ("stale", FeedStale, 1),
    ],
)
def test_each_fault_is_a_typed_error_after_bounded_retries(
    alpha_vantage_server, clock, fault, error, requests
):
    alpha_vantage_server.set_mode(fault)
    with pytest.raises(error) as raised:
        feed_for(alpha_vantage_server, clock).fetch_intraday(
            "MSFT", LIVE_START, SESSION_CLOSE, LIVE_NOW
        )
    assert type(raised.value) is error
    assert len(alpha_vantage_server.data_requests()) == requests


def test_a_transient_failure_is_retried_into_data(alpha_vantage_server, clock):
    alpha_vantage_server.inject("http_500", count=2)
    bars = feed_for(alpha_vantage_server, clock).fetch_intraday(
        "MSFT", LIVE_START, SESSION_CLOSE, LIVE_NOW
    )
    assert len(bars) == 30
    assert len(alpha_vantage_server.data_requests()) == 3


def test_backoff_grows_with_jitter_between_attempts(alpha_vantage_server, clock):
    pauses = []
    alpha_vantage_server.set_mode("http_500")
    feed = feed_for(
        alpha_vantage_server,
        clock,
        sleep=pauses.append,
        retry=RetryPolicy(attempts=4, delay=0.5, random=lambda: 1.0),
    )
    with pytest.raises(FeedUnavailable):
        feed.fetch_intraday("MSFT", LIVE_START, SESSION_CLOSE, LIVE_NOW)
    assert pauses == [0.5, 1.0, 2.0]


def test_a_hung_server_does_not_block_past_the_deadline(alpha_vantage_server, clock):
    alpha_vantage_server.set_mode("hung", delay=20)
    feed = feed_for(alpha_vantage_server, clock, timeout_seconds=0.4, deadline_seconds=1.0)
    began = time.perf_counter()
    with pytest.raises(FeedUnavailable) as raised:
        feed.fetch_intraday("MSFT", LIVE_START, SESSION_CLOSE, LIVE_NOW)
    assert time.perf_counter() - began < 1.8
    assert "no response within" in str(raised.value)
    assert 2 <= len(alpha_vantage_server.data_requests()) <= 3


def test_a_slow_answer_within_the_timeout_is_data(alpha_vantage_server, clock):
    alpha_vantage_server.inject("slow", delay=0.3)
    bars = feed_for(alpha_vantage_server, clock, timeout_seconds=2).fetch_intraday(
        "MSFT", LIVE_START, SESSION_CLOSE, LIVE_NOW
    )
    assert len(bars) == 30 and len(alpha_vantage_server.data_requests()) == 1


def test_latest_bar_lagging_as_of_is_stale_only_when_live(alpha_vantage_server, clock):
    alpha_vantage_server.set_mode("stale", lag="20min")
    feed = feed_for(alpha_vantage_server, clock, staleness=pd.Timedelta(minutes=5))
    with pytest.raises(FeedStale):
        feed.fetch_intraday("MSFT", LIVE_START, SESSION_CLOSE, LIVE_NOW)
    # A window that ended long before now (history) is not judged on freshness.
    bars = feed.fetch_intraday(
        "MSFT", utc("2020-12-17 14:30"), utc("2020-12-17 21:00"), utc("2020-12-17 21:00")
    )
    assert len(bars) == 390


def test_a_window_with_no_complete_bar_is_empty(alpha_vantage_server, clock):
    with pytest.raises(FeedEmpty):
        feed_for(alpha_vantage_server, clock).fetch_intraday(
            "MSFT", LIVE_NOW, SESSION_CLOSE, LIVE_NOW + pd.Timedelta(seconds=30)
        )


def test_the_rate_limit_holds_back_requests_beyond_the_budget(alpha_vantage_server, clock):
    from dual_ticker.feeds.pacing import TokenBucket

    bucket = TokenBucket(per_minute=60, burst=1)  # one request, then one a second
    feed = feed_for(alpha_vantage_server, clock, limiter=bucket, deadline_seconds=0.5)
    feed.fetch_intraday("MSFT", LIVE_START, SESSION_CLOSE, LIVE_NOW)
    with pytest.raises(FeedThrottled) as raised:
        feed.fetch_intraday("MSFT", LIVE_START, SESSION_CLOSE, LIVE_NOW)
    assert "local rate limit" in str(raised.value)
    assert len(alpha_vantage_server.data_requests()) == 1


def test_unreachable_provider_is_unavailable_without_the_url(clock):
    feed = AlphaVantageFeed(
        CANARY_KEY,
        "http://127.0.0.1:9/query",
        clock=clock,
        limiter=unlimited(),
        retry=RetryPolicy(attempts=2, delay=0.01),
        timeout_seconds=1,
    )
    with pytest.raises(FeedUnavailable) as raised:
        feed.fetch_intraday("MSFT", LIVE_START, SESSION_CLOSE, LIVE_NOW)
    assert "127.0.0.1" not in str(raised.value) and CANARY_KEY not in str(raised.value)


def test_missing_key_is_a_feed_failure_naming_the_variable(alpha_vantage_server, clock):
    feed = AlphaVantageFeed(
        "", f"{alpha_vantage_server.url}/query", clock=clock, limiter=unlimited()
    )
    with pytest.raises(FeedUnavailable, match="ALPHAVANTAGE_API_KEY"):
        feed.fetch_intraday("MSFT", LIVE_START, SESSION_CLOSE, LIVE_NOW)
    assert alpha_vantage_server.data_requests() == []


def test_built_from_settings(alpha_vantage_server, clock):
    settings = FeedSettings(
        primary="alpha_vantage", retry_attempts=2, retry_delay=0.01, entitlement="delayed"
    )
    endpoints = Endpoints(alphavantage_base_url=f"{alpha_vantage_server.url}/query")
    feed = AlphaVantageFeed.from_settings(
        CANARY_KEY, settings, endpoints, clock=clock, limiter=unlimited()
    )
    alpha_vantage_server.set_mode("http_500")
    with pytest.raises(FeedUnavailable):
        feed.fetch_intraday("MSFT", LIVE_START, SESSION_CLOSE, LIVE_NOW)
    requests = alpha_vantage_server.data_requests()
    assert len(requests) == 2 and requests[0].params["entitlement"] == "delayed"
