"""Fuzzing the wire: recorded provider bodies, mutated, through the clients and parsers. Whatever
arrives, the answer is bars or a typed feed error whose message is one line without the API key."""

from __future__ import annotations

import io
import json
import logging
import traceback

import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from dual_ticker.clock import FixedClock
from dual_ticker.feeds.alpha_vantage import AlphaVantageFeed
from dual_ticker.feeds.alpha_vantage_parsing import parse_extended_csv
from dual_ticker.feeds.base import BAR_COLUMNS, FeedError
from dual_ticker.feeds.pacing import RetryPolicy
from dual_ticker.feeds.yahoo import YahooFinanceFeed
from dual_ticker_tests.feeds.conftest import (
    CANARY_KEY,
    FIXTURES,
    LIVE_NOW,
    key_fragments_in,
    unlimited,
)
from dual_ticker_tests.feeds.wire_mutations import edited_csv, not_the_body, wire_bodies
from dual_ticker_tests.support.alpha_vantage_server import AlphaVantageSimulator
from dual_ticker_tests.support.yahoo_server import CRUMB, YahooSimulator, recorded_body

FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
COMPACT = json.loads((FIXTURES / "alpha_vantage" / "msft_1min_compact_2017-12-18.json").read_text())
# The recorded compact answer's newest bar is 14:56 New York time: a live minute right after it.
COMPACT_NOW = pd.Timestamp("2017-12-18 19:57", tz="UTC")
EXTENDED_LINES = (
    (FIXTURES / "alpha_vantage" / "msft_1min_extended_2020-11-23_2020-12-18.csv")
    .read_text()
    .splitlines()[:120]
)
ALPHA_VANTAGE_KEYS = [
    "Meta Data",
    "Time Series (1min)",
    "Time Series (5min)",
    "Time Series (Daily)",
    "2. Symbol",
    "4. Interval",
    "6. Time Zone",
    "1. open",
    "4. close",
    "5. volume",
    "Error Message",
    "Note",
    "Information",
]
YAHOO_KEYS = [
    "chart",
    "result",
    "error",
    "meta",
    "timestamp",
    "indicators",
    "quote",
    "adjclose",
    "open",
    "close",
    "volume",
    "symbol",
    "dataGranularity",
    "exchangeTimezoneName",
    "tradingPeriods",
]
LOGGERS = ("httpx", "httpcore", "urllib3", "yfinance", "peewee", "dual_ticker")
SECRETS = (CANARY_KEY, CRUMB)  # Yahoo's crumb rides in its chart URLs


@pytest.fixture(scope="module")
def logs():
    """Every log line the clients and their libraries write while the module runs."""
    stream, handler = io.StringIO(), None
    handler = logging.StreamHandler(stream)
    levels = {name: logging.getLogger(name).level for name in LOGGERS}
    for name in LOGGERS:
        logging.getLogger(name).addHandler(handler)
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield stream
    for name, level in levels.items():
        logging.getLogger(name).removeHandler(handler)
        logging.getLogger(name).setLevel(level)


def assert_bars_or_typed_error(fetch, logs: io.StringIO, secrets=SECRETS) -> None:
    """The property: bars with the contract's columns, or a FeedError of one line that shows no
    piece of a secret, in its text, its chain or the logs."""
    try:
        bars = fetch()
    except FeedError as error:
        event(type(error).__name__)
        message = str(error)
        assert message and "\n" not in message and "\r" not in message, message
        everything = "".join(traceback.format_exception(error)) + repr(error.args)
        for secret in secrets:
            assert not key_fragments_in(everything, secret), everything
    else:
        event("bars")
        assert [
            c for c in bars.columns if c != "delivered"
        ] == BAR_COLUMNS  # delivered: see feeds.base
        # A row's odd value (a NaN close, no readable time) is the gate's to quarantine.
        assert bars["timestamp"].dropna().is_monotonic_increasing
    # The API key only: yfinance itself logs Yahoo's crumb at DEBUG, which is no secret of ours.
    assert not key_fragments_in(logs.getvalue(), CANARY_KEY)


@pytest.fixture(scope="module")
def alpha_vantage():
    with AlphaVantageSimulator() as server:
        feed = AlphaVantageFeed(
            CANARY_KEY,
            f"{server.url}/query",
            clock=FixedClock(COMPACT_NOW),
            limiter=unlimited(),
            retry=RetryPolicy(attempts=1, delay=0.01),
        )
        yield server, feed
        feed.close()


@FUZZ
@given(body=wire_bodies(COMPACT, ALPHA_VANTAGE_KEYS, CANARY_KEY))
def test_alpha_vantage_answers_bars_or_a_typed_error(alpha_vantage, logs, body):
    server, feed = alpha_vantage
    server.set_body(body)
    start = COMPACT_NOW - pd.Timedelta(minutes=30)
    assert_bars_or_typed_error(
        lambda: feed.fetch_intraday("MSFT", start, COMPACT_NOW, COMPACT_NOW), logs
    )


@FUZZ
@given(
    text=edited_csv(EXTENDED_LINES)
    | not_the_body(CANARY_KEY).map(lambda body: body.decode("utf-8", "replace")),
    interval=st.sampled_from(["1min", "5min"]),
)
def test_alpha_vantage_csv_answers_bars_or_a_typed_error(logs, text, interval):
    # The parser alone knows no key (the client scrubs it): only the typed, one-line answer counts.
    assert_bars_or_typed_error(lambda: parse_extended_csv(text, "MSFT", interval), logs, ())


@pytest.fixture(scope="module")
def yahoo(tmp_path_factory):
    with YahooSimulator(now=LIVE_NOW) as server:
        feed = YahooFinanceFeed(
            tmp_path_factory.mktemp("yfinance"),
            server.url,
            clock=FixedClock(LIVE_NOW),
            impersonate_browser=False,
            limiter=unlimited(),
            retry=RetryPolicy(attempts=1, delay=0.01),
        )
        start = LIVE_NOW - pd.Timedelta(minutes=30)
        live = server.chart_body("MSFT", start, LIVE_NOW, LIVE_NOW)
        yield server, feed, live


YAHOO_RECORDINGS = [
    recorded_body("chart_v8_aapl_1d_2020-01-02.json"),  # another symbol and interval
    recorded_body("chart_v8_aapl_1m_weekend_empty.json"),
]


@FUZZ
@given(data=st.data(), seed=st.integers(0, len(YAHOO_RECORDINGS)))
def test_yahoo_answers_bars_or_a_typed_error(yahoo, logs, data, seed):
    server, feed, live = yahoo
    tree = live if seed == len(YAHOO_RECORDINGS) else YAHOO_RECORDINGS[seed]
    server.set_body(data.draw(wire_bodies(tree, YAHOO_KEYS, CANARY_KEY), label="body"))
    start = LIVE_NOW - pd.Timedelta(minutes=30)
    assert_bars_or_typed_error(lambda: feed.fetch_intraday("MSFT", start, LIVE_NOW, LIVE_NOW), logs)
