"""A delayed Alpha Vantage key: the provider serves nothing newer than 15 minutes, and the client
judges the delivery fresh against that (not stale every minute), while a lag beyond it is stale."""

from __future__ import annotations

import pandas as pd
import pytest

from dual_ticker.feeds.alpha_vantage import AlphaVantageFeed
from dual_ticker.feeds.base import FeedStale
from dual_ticker.feeds.pacing import RetryPolicy
from dual_ticker_tests.feeds.conftest import CANARY_KEY, LIVE_NOW, unlimited

START = LIVE_NOW - pd.Timedelta(minutes=60)


def delayed_feed(server, clock) -> AlphaVantageFeed:
    return AlphaVantageFeed(
        CANARY_KEY,
        f"{server.url}/query",
        entitlement="delayed",
        clock=clock,
        limiter=unlimited(),
        retry=RetryPolicy(attempts=2, delay=0.01),
    )


def test_a_delayed_key_gets_bars_up_to_15_minutes_ago_and_they_count_as_fresh(
    alpha_vantage_server, clock
):
    alpha_vantage_server.set_now(LIVE_NOW)
    bars = delayed_feed(alpha_vantage_server, clock).fetch_intraday(
        "MSFT", START, LIVE_NOW, LIVE_NOW
    )
    assert bars["timestamp"].max() == LIVE_NOW - pd.Timedelta(minutes=16)
    assert alpha_vantage_server.data_requests()[-1].params["entitlement"] == "delayed"


def test_a_delayed_key_lagging_beyond_its_delay_is_stale(alpha_vantage_server, clock):
    alpha_vantage_server.set_now(LIVE_NOW)
    alpha_vantage_server.inject("stale", lag="10min")  # 25 minutes behind in all
    with pytest.raises(FeedStale):
        delayed_feed(alpha_vantage_server, clock).fetch_intraday("MSFT", START, LIVE_NOW, LIVE_NOW)
