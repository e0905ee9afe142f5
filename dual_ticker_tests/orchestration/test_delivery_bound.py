"""data.max_bars_per_session: an oversized delivery is a feed failure and the fallback serves."""

import pandas as pd
import pytest

from dual_ticker.feeds.base import FeedUnparseable
from dual_ticker.feeds.bounded import BoundedFeed
from dual_ticker.feeds.failover import fetch_with_failover
from dual_ticker.feeds.replay import ReplayFeed
from dual_ticker.settings import load_settings
from dual_ticker_tests.support.pipeline import REPLAY_DIR

START = pd.Timestamp("2020-12-01 04:00", tz="America/New_York").tz_convert("UTC")
END = pd.Timestamp("2020-12-01 16:00", tz="America/New_York").tz_convert("UTC")


def test_prod_bounds_one_delivery():
    assert load_settings({"DUAL_TICKER_ENV": "prod"}).data.max_bars_per_session == 2000


def test_a_delivery_above_the_bound_fails_over():
    class Oversized(ReplayFeed):
        name = "alpha_vantage"

    primary = BoundedFeed(Oversized(REPLAY_DIR), max_bars_per_session=100)
    with pytest.raises(FeedUnparseable, match="exceed data.max_bars_per_session"):
        primary.fetch_intraday("MSFT", START, END, END)
    fallback = BoundedFeed(ReplayFeed(REPLAY_DIR), max_bars_per_session=2000)
    attempts = []
    result = fetch_with_failover(
        "MSFT", START, END, END, [primary, fallback], lambda *a: attempts.append(a)
    )
    assert result.source == "replay" and len(result.bars) > 390
    assert [(a[0], a[2]) for a in attempts] == [("alpha_vantage", "unparseable"), ("replay", "ok")]
