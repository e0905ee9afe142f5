"""A canary API key reaches the provider and nothing else: not logs, not errors, not results."""

from __future__ import annotations

import logging
import traceback

import pandas as pd
import pytest

from dual_ticker.feeds.alpha_vantage import AlphaVantageFeed
from dual_ticker.feeds.base import FeedError
from dual_ticker.feeds.failover import fetch_with_failover
from dual_ticker.feeds.pacing import RetryPolicy
from dual_ticker_tests.feeds.conftest import CANARY_KEY, LIVE_NOW, key_fragments_in, unlimited, utc

START, END = LIVE_NOW - pd.Timedelta(minutes=20), utc("2020-12-18 21:00")
FAULTS = [
    "http_500",
    "http_429",
    "hung",
    "throttle_note",
    "error_message",
    "malformed_json",
    "missing_series",
    "empty_series",
    "stale",
]


@pytest.fixture
def all_logs(caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "httpcore.connection", "httpcore.http11", "dual_ticker"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def everything_about(error: BaseException) -> str:
    chain = "".join(traceback.format_exception(error))
    return " ".join(
        [
            str(error),
            repr(error),
            repr(error.args),
            chain,
            str(error.__context__),
            str(error.__cause__),
        ]
    )


def feed_for(url: str, clock) -> AlphaVantageFeed:
    return AlphaVantageFeed(
        CANARY_KEY,
        url,
        clock=clock,
        limiter=unlimited(),
        timeout_seconds=0.3,
        deadline_seconds=2,
        retry=RetryPolicy(attempts=2, delay=0.01),
    )


def test_the_key_is_sent_to_the_provider(alpha_vantage_server, clock):
    feed_for(f"{alpha_vantage_server.url}/query", clock).fetch_intraday(
        "MSFT", START, END, LIVE_NOW
    )
    assert alpha_vantage_server.data_requests()[0].params["apikey"] == CANARY_KEY


def test_successful_fetch_logs_the_request_without_the_key(alpha_vantage_server, clock, all_logs):
    feed = feed_for(f"{alpha_vantage_server.url}/query", clock)
    bars = feed.fetch_intraday("MSFT", START, END, LIVE_NOW)
    assert "apikey=***" in all_logs.text  # httpx's request line was captured, redacted
    assert not key_fragments_in(all_logs.text)
    assert not key_fragments_in(bars.to_csv()) and not key_fragments_in(repr(feed))


@pytest.mark.parametrize("fault", FAULTS)
def test_no_failure_shows_the_key(alpha_vantage_server, clock, all_logs, fault):
    alpha_vantage_server.set_mode(fault, delay=5)
    with pytest.raises(FeedError) as raised:
        feed_for(f"{alpha_vantage_server.url}/query", clock).fetch_intraday(
            "MSFT", START, END, LIVE_NOW
        )
    assert not key_fragments_in(everything_about(raised.value))
    assert not key_fragments_in(all_logs.text)


def test_transport_errors_do_not_leak_the_url(clock, all_logs):
    with pytest.raises(FeedError) as raised:
        feed_for("http://127.0.0.1:9/query", clock).fetch_intraday("MSFT", START, END, LIVE_NOW)
    assert not key_fragments_in(everything_about(raised.value))
    assert not key_fragments_in(all_logs.text)


def test_a_provider_echoing_the_key_is_scrubbed(alpha_vantage_server, clock, monkeypatch):
    from dual_ticker_tests.support import alpha_vantage_server as simulator

    monkeypatch.setitem(
        simulator.FIXED_BODIES, "error_message", {"Error Message": f"bad apikey {CANARY_KEY}"}
    )
    alpha_vantage_server.set_mode("error_message")
    with pytest.raises(FeedError) as raised:
        feed_for(f"{alpha_vantage_server.url}/query", clock).fetch_intraday(
            "MSFT", START, END, LIVE_NOW
        )
    assert not key_fragments_in(everything_about(raised.value)) and "***" in str(raised.value)


@pytest.mark.parametrize("padding", [126, 131, 135])
def test_a_key_echoed_where_the_message_is_shortened_is_hidden(
    alpha_vantage_server, clock, monkeypatch, padding
):
    # Provider text in an error is shortened to 160 characters: a cut through the echoed key
    # leaves a piece of it that no longer matches the key, so it must be hidden before parsing.
    from dual_ticker_tests.support import alpha_vantage_server as simulator

    echo = {"Error Message": f"{'x' * padding} bad call ?apikey={CANARY_KEY}&symbol=MSFT"}
    monkeypatch.setitem(simulator.FIXED_BODIES, "error_message", echo)
    alpha_vantage_server.set_mode("error_message")
    with pytest.raises(FeedError) as raised:
        feed_for(f"{alpha_vantage_server.url}/query", clock).fetch_intraday(
            "MSFT", START, END, LIVE_NOW
        )
    assert not key_fragments_in(everything_about(raised.value))


def test_failover_summary_never_shows_the_key(alpha_vantage_server, clock, all_logs):
    alpha_vantage_server.set_mode("http_500")
    reports = []
    with pytest.raises(FeedError) as raised:
        fetch_with_failover(
            "MSFT",
            START,
            END,
            LIVE_NOW,
            [feed_for(f"{alpha_vantage_server.url}/query", clock)],
            on_request=lambda *report: reports.append(report),
        )
    assert not key_fragments_in(everything_about(raised.value))
    assert not key_fragments_in(repr(reports)) and not key_fragments_in(all_logs.text)
