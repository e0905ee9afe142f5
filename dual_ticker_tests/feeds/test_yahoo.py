"""The Yahoo client (yfinance) against the loopback Yahoo: limits, chunks, rows, faults, caches."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import httpx
import numpy as np
import pandas as pd
import pytest

from dual_ticker.calendar.nyse import NEW_YORK
from dual_ticker.clock import FixedClock
from dual_ticker.feeds.base import (
    FeedCannotServe,
    FeedEmpty,
    FeedStale,
    FeedThrottled,
    FeedUnavailable,
    FeedUnparseable,
)
from dual_ticker.feeds.pacing import RetryPolicy
from dual_ticker.feeds.yahoo import YahooFinanceFeed, history_to_bars
from dual_ticker_tests.feeds.conftest import LIVE_NOW, unlimited, utc
from dual_ticker_tests.support.simulated_provider import REPLAY_DIR
from dual_ticker_tests.support.yahoo_server import CRUMB, YahooSimulator, recorded_body

DAY_OPEN, DAY_CLOSE = utc("2020-12-17 14:30"), utc("2020-12-17 21:00")
LIVE_START = LIVE_NOW - pd.Timedelta(minutes=30)
SESSION_OPEN = utc("2020-12-18 14:30")


def feed_for(server, cache, clock, **options) -> YahooFinanceFeed:
    options = {
        "retry": RetryPolicy(attempts=2, delay=0.01),
        "limiter": unlimited(),
        "clock": clock,
        "timeout_seconds": 2.0,
        "deadline_seconds": 10.0,
    } | options
    return YahooFinanceFeed(cache, base_url=server.url, **options)


def ny(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=NEW_YORK)


def test_history_frame_to_bars_drops_null_minutes_and_rows_at_the_close():
    index = pd.DatetimeIndex(
        [
            ny("2020-12-17 15:58"),
            ny("2020-12-17 15:59"),
            ny("2020-12-17 16:00"),
            ny("2020-12-17 15:57"),
            ny("2020-11-27 12:59"),
            ny("2020-11-27 13:00"),
            ny("2020-11-28 10:00"),
        ],
        name="Datetime",
    )
    history = pd.DataFrame(
        {
            "Open": [1.0, 2.0, 3.0, np.nan, 5.0, 6.0, 7.0],
            "High": [1.0, 2.0, 3.0, np.nan, 5.0, 6.0, 7.0],
            "Low": [1.0, 2.0, 3.0, np.nan, 5.0, 6.0, 7.0],
            "Close": [1.0, 2.0, 3.0, np.nan, 5.0, 6.0, 7.0],
            "Volume": [10, 20, 0, 0, 50, 0, 70],
        },
        index=index,
    )
    bars = history_to_bars(history, "msft")
    # 16:00 (Yahoo's closing row) and 13:00 on the half day are at their close; 15:57 is null.
    # The Saturday bar stays: a bar on no session is the gate's to block, not the client's to hide.
    assert [t.tz_convert(NEW_YORK) for t in bars["timestamp"]] == [
        ny("2020-11-27 12:59"),
        ny("2020-11-28 10:00"),
        ny("2020-12-17 15:58"),
        ny("2020-12-17 15:59"),
    ]
    assert str(bars["timestamp"].dt.tz) == "UTC" and set(bars["data_source"]) == {"yahoo_finance"}
    assert history_to_bars(history.iloc[:0], "MSFT").empty


@pytest.mark.parametrize("impersonate_browser", [True, False], ids=["curl_cffi", "requests"])
def test_a_session_comes_back_as_utc_bar_starts(
    yahoo_server, yahoo_cache, clock, impersonate_browser
):
    feed = feed_for(yahoo_server, yahoo_cache, clock, impersonate_browser=impersonate_browser)
    bars = feed.fetch_intraday("msft", DAY_OPEN, DAY_CLOSE, DAY_CLOSE)
    assert len(bars) == 390
    assert bars["timestamp"].iloc[0] == DAY_OPEN
    assert bars["timestamp"].iloc[-1] == DAY_CLOSE - pd.Timedelta(minutes=1)  # 16:00 row dropped
    # yfinance's cookie call reached the simulator; its crumb (fetched once a process) rode along.
    assert "/" in [request.path for request in yahoo_server.requests]
    (chart,) = yahoo_server.data_requests()
    assert chart.params["crumb"] == CRUMB
    assert chart.params["interval"] == "1m" and chart.params["includePrePost"].lower() == "false"


def test_the_simulator_sends_the_closing_row_and_null_minutes(tmp_path):
    recorded = pd.read_csv(REPLAY_DIR / "MSFT.csv")
    gaps = ["2020-12-17 10:15:00", "2020-12-17 10:16:00", "2020-12-17 13:40:00"]
    recorded[~recorded["timestamp"].isin(gaps)].to_csv(tmp_path / "MSFT.csv", index=False)
    with YahooSimulator(tmp_path, now=LIVE_NOW) as server:
        params = {
            "period1": int(DAY_OPEN.timestamp()),
            "period2": int(DAY_CLOSE.timestamp()) + 60,
            "interval": "1m",
        }
        body = httpx.get(f"{server.url}/v8/finance/chart/MSFT", params=params).json()
    result = body["chart"]["result"][0]
    stamps = pd.to_datetime(result["timestamp"], unit="s", utc=True)
    quote = result["indicators"]["quote"][0]
    assert len(stamps) == 391 and stamps[-1] == DAY_CLOSE and quote["volume"][-1] == 0
    nulls = [
        stamps[n].tz_convert(NEW_YORK).strftime("%Y-%m-%d %H:%M:%S")
        for n, close in enumerate(quote["close"])
        if close is None
    ]
    assert nulls == gaps
    assert result["meta"]["exchangeTimezoneName"] == NEW_YORK
    assert result["meta"]["gmtoffset"] == -18000
    recorded = recorded_body("chart_v8_aapl_1d_2020-01-02.json")["chart"]["result"][0]
    assert set(recorded["meta"]) <= set(result["meta"]) and "tradingPeriods" in result["meta"]
    assert set(quote) == {"open", "high", "low", "close", "volume"}
    assert body["chart"]["error"] is None


def test_null_minutes_are_dropped_not_filled(tmp_path, yahoo_cache, clock):
    recorded = pd.read_csv(REPLAY_DIR / "MSFT.csv")
    gaps = ["2020-12-17 10:15:00", "2020-12-17 13:40:00"]
    recorded[~recorded["timestamp"].isin(gaps)].to_csv(tmp_path / "MSFT.csv", index=False)
    with YahooSimulator(tmp_path, now=LIVE_NOW) as server:
        bars = feed_for(server, yahoo_cache, clock).fetch_intraday(
            "MSFT", DAY_OPEN, DAY_CLOSE, DAY_CLOSE
        )
    assert len(bars) == 388
    local = set(bars["timestamp"].dt.tz_convert(NEW_YORK).dt.strftime("%Y-%m-%d %H:%M:%S"))
    assert not local & set(gaps)


def test_a_long_window_is_fetched_in_requests_of_at_most_seven_days(
    yahoo_server, yahoo_cache, clock
):
    start = utc("2020-11-23 14:30")
    bars = feed_for(yahoo_server, yahoo_cache, clock).fetch_intraday(
        "MSFT", start, LIVE_NOW, LIVE_NOW
    )
    spans = [
        (int(r.params["period1"]), int(r.params["period2"])) for r in yahoo_server.data_requests()
    ]
    assert len(spans) == 4
    assert all(0 < last - first <= 7 * 86400 for first, last in spans)
    assert spans[0][0] == int(start.timestamp()) and spans[-1][1] == int(LIVE_NOW.timestamp())
    # 17 full sessions, the 2020-11-27 half day, and 2020-12-18 up to the 14:04 bar.
    assert len(bars) == 17 * 390 + 210 + 275
    assert not bars["timestamp"].duplicated().any()


def test_windows_older_than_thirty_days_are_not_served(yahoo_server, yahoo_cache, clock):
    feed = feed_for(yahoo_server, yahoo_cache, clock)
    old = LIVE_NOW - pd.Timedelta(days=31)
    assert not feed.can_serve(old, old + pd.Timedelta(hours=6))
    assert feed.can_serve(LIVE_NOW - pd.Timedelta(days=29), LIVE_NOW)
    with pytest.raises(FeedCannotServe):
        feed.fetch_intraday("MSFT", old, old + pd.Timedelta(hours=6), old + pd.Timedelta(hours=6))
    assert yahoo_server.requests == []


def test_yahoos_own_limits_answer_422_and_become_cannot_serve(yahoo_server, yahoo_cache):
    week = {"period1": int(utc("2020-12-01 14:30").timestamp()), "interval": "1m"}
    week["period2"] = week["period1"] + 8 * 86400
    answer = httpx.get(f"{yahoo_server.url}/v8/finance/chart/MSFT", params=week)
    assert answer.status_code == 422
    assert answer.json()["chart"]["result"] is None
    assert answer.json()["chart"]["error"]["code"] == "Unprocessable Entity"
    # The client's clock lags Yahoo's: the window looks recent to it but not to Yahoo.
    yahoo_server.set_now(utc("2020-12-24 21:00"))
    feed = feed_for(yahoo_server, yahoo_cache, FixedClock(utc("2020-11-24 21:00")))
    with pytest.raises(FeedCannotServe):
        feed.fetch_intraday(
            "MSFT", utc("2020-11-23 14:30"), utc("2020-11-23 21:00"), utc("2020-11-23 21:00")
        )


@pytest.mark.parametrize(
    "fault, error, chart_requests",
    [
        # yfinance itself asks once more (other cookie strategy) on any HTTP error: 2 per attempt.
        ("http_500", FeedUnavailable, 4),
        ("rate_limited", FeedThrottled, 2),
        ("malformed_json", FeedUnparseable, 1),
        ("empty", FeedEmpty, 1),
        ("stale", FeedStale, 1),
    ],
)
@pytest.mark.parametrize("impersonate_browser", [True, False], ids=["curl_cffi", "requests"])
def test_each_fault_is_a_typed_error(
    yahoo_server, yahoo_cache, clock, fault, error, chart_requests, impersonate_browser
):
    yahoo_server.set_mode(fault)
    feed = feed_for(yahoo_server, yahoo_cache, clock, impersonate_browser=impersonate_browser)
    with pytest.raises(error) as raised:
        feed.fetch_intraday("MSFT", SESSION_OPEN, LIVE_NOW, LIVE_NOW)
    assert type(raised.value) is error
    assert len(yahoo_server.data_requests()) == chart_requests


def test_a_transient_failure_is_retried_into_data(yahoo_server, yahoo_cache, clock):
    yahoo_server.inject("http_500", count=2)
    bars = feed_for(yahoo_server, yahoo_cache, clock).fetch_intraday(
        "MSFT", LIVE_START, LIVE_NOW, LIVE_NOW
    )
    assert len(bars) == 30 and len(yahoo_server.data_requests()) == 3


@pytest.mark.parametrize("impersonate_browser", [True, False], ids=["curl_cffi", "requests"])
def test_a_hung_server_does_not_block_past_the_deadline(
    yahoo_server, yahoo_cache, clock, impersonate_browser
):
    yahoo_server.set_mode("hung", delay=20)
    feed = feed_for(
        yahoo_server,
        yahoo_cache,
        clock,
        timeout_seconds=0.4,
        deadline_seconds=1.0,
        impersonate_browser=impersonate_browser,
    )
    began = time.perf_counter()
    with pytest.raises(FeedUnavailable):
        feed.fetch_intraday("MSFT", LIVE_START, LIVE_NOW, LIVE_NOW)
    assert time.perf_counter() - began < 1.8


FETCH_IN_A_FRESH_PROCESS = """
import sys
import pandas as pd
from dual_ticker.clock import FixedClock
from dual_ticker.feeds.yahoo import YahooFinanceFeed
now = pd.Timestamp("2020-12-18 19:05", tz="UTC")
feed = YahooFinanceFeed(sys.argv[1], sys.argv[2], clock=FixedClock(now))
print(len(feed.fetch_intraday("MSFT", now - pd.Timedelta(minutes=30), now, now)))
"""


def test_caches_live_in_the_given_folder_not_home(yahoo_server, tmp_path):
    # A fresh process: yfinance's caches are process-wide and keep the first folder they get.
    home, cache = tmp_path / "home", tmp_path / "state" / "yfinance"
    home.mkdir()
    environment = {**os.environ, "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache")}
    done = subprocess.run(
        [sys.executable, "-c", FETCH_IN_A_FRESH_PROCESS, str(cache), yahoo_server.url],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "30"
    assert {path.name for path in cache.iterdir()} >= {"tkr-tz.db"}
    assert list(home.rglob("*")) == []


@pytest.mark.parametrize(
    "field, value, shown",
    [("symbol", "AAPL", "about 'AAPL', not MSFT"), ("dataGranularity", "5m", "holds '5m' bars")],
)
def test_a_chart_answering_another_symbol_or_interval_is_not_data(
    yahoo_server, yahoo_cache, clock, field, value, shown
):
    body = yahoo_server.chart_body("MSFT", LIVE_START, LIVE_NOW, LIVE_NOW)
    body["chart"]["result"][0]["meta"][field] = value
    yahoo_server.set_body(json.dumps(body).encode())
    with pytest.raises(FeedUnparseable, match=shown):
        feed_for(yahoo_server, yahoo_cache, clock).fetch_intraday(
            "MSFT", LIVE_START, LIVE_NOW, LIVE_NOW
        )
