"""Feed-client fixtures: the recorded provider responses, and the two loopback simulators."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from dual_ticker.clock import FixedClock
from dual_ticker.feeds.pacing import TokenBucket
from dual_ticker_tests.support.alpha_vantage_server import AlphaVantageSimulator
from dual_ticker_tests.support.yahoo_server import YahooSimulator

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CANARY_KEY = "CANARY-KEY-123"
# A live minute of the recorded month: Friday 2020-12-18, 14:05 New York time.
LIVE_NOW = pd.Timestamp("2020-12-18 19:05:00", tz="UTC")


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def key_fragments_in(text: str, key: str = CANARY_KEY) -> list[str]:
    """Every 4-character piece of the key found in the text: a scrubber that hides only part of
    the key (its first character, say) still shows the rest."""
    return sorted({key[i : i + 4] for i in range(len(key) - 3) if key[i : i + 4] in text})


def unlimited() -> TokenBucket:
    return TokenBucket(per_minute=60_000, burst=1_000)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(LIVE_NOW)


@pytest.fixture
def alpha_vantage_server():
    with AlphaVantageSimulator(now=LIVE_NOW) as server:
        yield server


@pytest.fixture
def yahoo_server():
    with YahooSimulator(now=LIVE_NOW) as server:
        yield server


@pytest.fixture(scope="session")
def yahoo_cache(tmp_path_factory) -> Path:
    # yfinance's caches are process-wide and keep the first folder they are given.
    return tmp_path_factory.mktemp("yfinance")
