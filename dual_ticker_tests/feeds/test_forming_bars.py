"""Both providers serve the minute still forming, with its values so far: the clients never return
it, and return its final values once it is complete (so no two deliveries of a minute differ)."""

from __future__ import annotations

import pandas as pd
import pytest

from dual_ticker.feeds.alpha_vantage import AlphaVantageFeed
from dual_ticker.feeds.pacing import RetryPolicy
from dual_ticker.feeds.replay import ReplayFeed
from dual_ticker.feeds.yahoo import YahooFinanceFeed
from dual_ticker_tests.feeds.conftest import CANARY_KEY, LIVE_NOW, unlimited
from dual_ticker_tests.support.alpha_vantage_server import AlphaVantageSimulator
from dual_ticker_tests.support.simulated_provider import REPLAY_DIR
from dual_ticker_tests.support.yahoo_server import YahooSimulator

MINUTE = pd.Timedelta(minutes=1)
FORMING = LIVE_NOW  # the minute 14:05 New York time
MID_MINUTE = FORMING + pd.Timedelta(seconds=40)
START, END = LIVE_NOW - pd.Timedelta(minutes=30), LIVE_NOW + pd.Timedelta(hours=1)
VALUES = ["open", "high", "low", "close", "volume"]


@pytest.fixture(params=["alpha_vantage", "yahoo_finance"])
def provider(request, clock, yahoo_cache):
    """A simulator serving forming minutes, and the feed client that talks to it."""
    options = dict(clock=clock, limiter=unlimited(), retry=RetryPolicy(attempts=2, delay=0.01))
    if request.param == "alpha_vantage":
        with AlphaVantageSimulator(now=MID_MINUTE) as server:
            server.serve_forming()
            yield server, AlphaVantageFeed(CANARY_KEY, f"{server.url}/query", **options)
    else:
        with YahooSimulator(now=MID_MINUTE) as server:
            server.serve_forming()
            yield (
                server,
                YahooFinanceFeed(yahoo_cache, server.url, impersonate_browser=False, **options),
            )


def recorded(minute: pd.Timestamp) -> pd.Series:
    bars = ReplayFeed(REPLAY_DIR).fetch_intraday("MSFT", minute, minute + MINUTE, minute + MINUTE)
    return bars.iloc[0][VALUES]


def served(server, minute: pd.Timestamp) -> pd.Series:
    bars = server.revealed("MSFT")
    (row,) = bars[bars["timestamp"] == minute].itertuples(index=False)
    return pd.Series(row._asdict())[VALUES]


@pytest.mark.parametrize(
    "as_of", [MID_MINUTE, FORMING], ids=["as_of_mid_minute", "as_of_the_tick_fetched_later"]
)
def test_the_forming_minute_is_never_returned(provider, clock, as_of):
    server, feed = provider
    clock.at = MID_MINUTE
    forming = served(server, FORMING)
    assert forming["volume"] < recorded(FORMING)["volume"]  # the simulator did serve it, partial
    bars = feed.fetch_intraday("MSFT", START, END, as_of)
    assert (bars["timestamp"] + MINUTE <= as_of).all()
    assert bars["timestamp"].max() == FORMING - MINUTE


def test_the_minute_comes_back_with_its_final_values_once_complete(provider, clock):
    server, feed = provider
    clock.at = MID_MINUTE
    early = feed.fetch_intraday("MSFT", START, END, MID_MINUTE)
    later = FORMING + MINUTE + pd.Timedelta(seconds=10)
    server.set_now(later)
    clock.at = later
    complete = feed.fetch_intraday("MSFT", START, END, later)
    final = complete[complete["timestamp"] == FORMING].iloc[0][VALUES]
    pd.testing.assert_series_equal(final, recorded(FORMING), check_names=False)
    both = pd.concat([early, complete]).drop_duplicates(subset=["timestamp", *VALUES])
    assert not both["timestamp"].duplicated().any()  # no minute delivered twice differently
