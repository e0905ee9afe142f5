"""Each client delivers the configured price basis across NVDA's 10:1 split (support/splits.py):
Alpha Vantage as asked with `adjusted=`, Yahoo split-adjusted only, and the two agree."""

from __future__ import annotations

import pandas as pd
import pytest

from dual_ticker.clock import FixedClock
from dual_ticker.feeds.alpha_vantage import AlphaVantageFeed
from dual_ticker.feeds.pacing import RetryPolicy
from dual_ticker.feeds.yahoo import YahooFinanceFeed
from dual_ticker_tests.feeds.conftest import CANARY_KEY, unlimited
from dual_ticker_tests.support.alpha_vantage_server import AlphaVantageSimulator
from dual_ticker_tests.support.splits import (
    AFTER_SPLIT,
    BEFORE,
    BEFORE_SPLIT,
    PRICES,
    RATIO,
    as_traded,
    write_split_replay,
)
from dual_ticker_tests.support.yahoo_server import YahooSimulator

START = pd.Timestamp(f"{BEFORE} 09:30", tz="America/New_York").tz_convert("UTC")
END = pd.Timestamp(f"{BEFORE} 16:00", tz="America/New_York").tz_convert("UTC")
OPTIONS = {
    "retry": RetryPolicy(attempts=1, delay=0.01),
    "limiter": unlimited(),
    "timeout_seconds": 2.0,
    "deadline_seconds": 10.0,
}


@pytest.fixture(scope="module")
def replay(tmp_path_factory):
    return write_split_replay(tmp_path_factory.mktemp("split_replay"))


@pytest.fixture
def servers(replay):
    with AlphaVantageSimulator(replay) as av, YahooSimulator(replay) as yahoo:
        for server in (av, yahoo):
            server.add_split("NVDA", "2024-06-10", RATIO)
        yield av, yahoo


def traded() -> pd.DataFrame:
    """NVDA's regular-session bars of the Friday before the split, as traded, by UTC start."""
    frame = as_traded("NVDA")
    stamps = pd.to_datetime(frame["timestamp"]).dt.tz_localize("America/New_York")
    frame = frame.assign(timestamp=stamps.dt.tz_convert("UTC"))
    inside = (frame["timestamp"] >= START) & (frame["timestamp"] < END)
    return frame[inside].set_index("timestamp")


def alpha_vantage(av, now, basis) -> pd.DataFrame:
    with AlphaVantageFeed(
        CANARY_KEY, f"{av.url}/query", clock=FixedClock(now), price_basis=basis, **OPTIONS
    ) as feed:
        return feed.fetch_intraday("NVDA", START, END, END).set_index("timestamp")


def at(now, *servers):
    for server in servers:
        server.set_now(now)
    return now


def test_alpha_vantage_delivers_the_basis_it_is_configured_for(servers):
    av, _ = servers
    now = at(AFTER_SPLIT, av)
    adjusted, raw = alpha_vantage(av, now, "adjusted"), alpha_vantage(av, now, "raw")
    assert [r.params["adjusted"] for r in av.data_requests()] == ["true", "false"]
    expected = traded()
    assert len(raw) == len(expected) > 300
    pd.testing.assert_frame_equal(
        raw[PRICES], expected.loc[raw.index, PRICES], check_dtype=False, atol=1e-4
    )
    pd.testing.assert_frame_equal(
        adjusted[PRICES],
        (expected.loc[adjusted.index, PRICES] / RATIO),
        check_dtype=False,
        atol=1e-4,
    )
    assert (adjusted["volume"] == raw["volume"] * RATIO).all()


def test_before_the_split_is_effective_adjusted_and_raw_are_the_same_prices(servers):
    av, _ = servers
    now = at(BEFORE_SPLIT, av)
    adjusted, raw = alpha_vantage(av, now, "adjusted"), alpha_vantage(av, now, "raw")
    # The adjusted basis is as of the request: bars stored before a split stay on the old scale.
    pd.testing.assert_frame_equal(adjusted, raw)


def test_yahoo_and_alpha_vantage_agree_on_the_adjusted_basis_after_the_split(servers, tmp_path):
    av, yahoo = servers
    now = at(AFTER_SPLIT, av, yahoo)
    from_av = alpha_vantage(av, now, "adjusted")
    feed = YahooFinanceFeed(
        tmp_path, base_url=yahoo.url, clock=FixedClock(now), impersonate_browser=False, **OPTIONS
    )
    from_yahoo = feed.fetch_intraday("NVDA", START, END, END).set_index("timestamp")
    assert from_yahoo.index.equals(from_av.index)
    pd.testing.assert_frame_equal(
        from_yahoo[[*PRICES, "volume"]], from_av[[*PRICES, "volume"]], check_dtype=False, atol=1e-4
    )


def test_yahoo_refuses_the_raw_basis_in_one_line(tmp_path):
    with pytest.raises(ValueError) as refused:
        YahooFinanceFeed(tmp_path, price_basis="raw")
    message = str(refused.value)
    assert "serves only price_basis adjusted" in message and "\n" not in message
