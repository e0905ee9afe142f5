"""A run asks for its symbols at once: with a slow provider, its latency is paid once per run,
not once per symbol; every attempt is still recorded, and a failure still fails the run."""

from __future__ import annotations

import pandas as pd
import pytest

from dual_ticker.calendar.windows import run_windows
from dual_ticker.clock import FixedClock
from dual_ticker.feeds.base import FeedUnavailable
from dual_ticker.pipeline.steps import fetch_missing
from dual_ticker.storage.database import transaction
from dual_ticker_tests.feeds.conftest import LIVE_NOW, unlimited
from dual_ticker_tests.feeds.test_alpha_vantage_client import feed_for
from dual_ticker_tests.support.alpha_vantage_server import AlphaVantageSimulator

SYMBOLS = ["NVDA", "MSFT"]


def _windows():
    return run_windows(["2020-12-18"], LIVE_NOW, LIVE_NOW.isoformat(), 1, None)


def _requests(url) -> pd.DataFrame:
    with transaction(url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT feed, symbol, outcome FROM feed_requests")
        return pd.DataFrame(cursor.fetchall(), columns=["feed", "symbol", "outcome"])


def test_both_symbols_are_requested_at_once(database_url):
    with AlphaVantageSimulator(now=LIVE_NOW) as server:
        server.set_mode("slow", delay=0.5)  # each answer takes long enough for the other's
        client = feed_for(server, FixedClock(LIVE_NOW), limiter=unlimited())
        bars = fetch_missing(
            lambda: transaction(database_url), _windows(), SYMBOLS, [client], "run-1"
        )
        assert server.most_in_flight == 2
    assert set(bars["symbol"]) == set(SYMBOLS)
    assert sorted(_requests(database_url)["symbol"]) == sorted(SYMBOLS)


def test_a_symbol_no_feed_serves_fails_the_run_with_every_attempt_recorded(database_url):
    with AlphaVantageSimulator(now=LIVE_NOW) as server:
        server.set_mode("http_500")
        client = feed_for(server, FixedClock(LIVE_NOW), limiter=unlimited())
        with pytest.raises(FeedUnavailable):
            fetch_missing(lambda: transaction(database_url), _windows(), SYMBOLS, [client], "run-1")
    recorded = _requests(database_url)
    assert set(recorded["symbol"]) == set(SYMBOLS)
    assert set(recorded["outcome"]) != {"ok"}
