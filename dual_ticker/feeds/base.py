"""The feed contract: 1-minute bars as a DataFrame, bar starts in UTC, and typed feed failures."""

from __future__ import annotations

import abc

import pandas as pd

BAR_COLUMNS = ["symbol", "timestamp", "open", "high", "low", "close", "volume", "data_source"]
PRICE_COLUMNS = ["open", "high", "low", "close"]


class FeedError(RuntimeError):
    """A delivery that is not data: the request failed, was throttled, empty, stale or unparseable.

    Feed errors are failures of the feed, not of the data: the run fetches the same window from
    the fallback feed where it can.
    """

    reason = "error"

    def __init__(self, feed: str, message: str):
        super().__init__(f"{feed}: {message}")
        self.feed = feed


class FeedThrottled(FeedError):
    reason = "throttled"


class FeedEmpty(FeedError):
    reason = "empty"


class FeedStale(FeedError):
    reason = "stale"


class FeedUnparseable(FeedError):
    reason = "unparseable"


class FeedUnavailable(FeedError):
    reason = "unavailable"


class FeedCannotServe(FeedError):
    """The feed cannot serve this window at all (e.g. Yahoo 1m data older than 30 days)."""

    reason = "out_of_range"


def empty_bars() -> pd.DataFrame:
    frame = pd.DataFrame({column: [] for column in BAR_COLUMNS})
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    return frame.astype({c: "float64" for c in PRICE_COLUMNS} | {"volume": "int64"})


def normalise_bars(frame: pd.DataFrame, symbol: str, source: str) -> pd.DataFrame:
    """Orders a parsed delivery by time and fixes the column set and types (not a judgement)."""
    frame = frame.copy()
    frame["symbol"] = symbol
    frame["data_source"] = source
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    frame[PRICE_COLUMNS] = frame[PRICE_COLUMNS].astype("float64")
    frame["volume"] = frame["volume"].astype("int64")
    return frame[BAR_COLUMNS].sort_values("timestamp", kind="stable").reset_index(drop=True)


class IntradayFeed(abc.ABC):
    """A source of 1-minute bars for one symbol over a time window."""

    name: str

    @abc.abstractmethod
    def fetch_intraday(
        self, symbol: str, start: pd.Timestamp, end: pd.Timestamp, as_of: pd.Timestamp
    ) -> pd.DataFrame:
        """Bars with start <= timestamp < end that are complete by as_of, columns BAR_COLUMNS.

        Raises FeedError when the delivery is not usable data.
        """

    def can_serve(self, start: pd.Timestamp, as_of: pd.Timestamp) -> bool:
        """Whether a window starting at `start` is within what this feed can deliver."""
        return True
