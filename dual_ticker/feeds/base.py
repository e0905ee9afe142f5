"""The feed contract: 1-minute bars as a DataFrame, bar starts in UTC, and typed feed failures."""

from __future__ import annotations

import abc

import numpy as np
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


def share_counts(volume: pd.Series) -> pd.Series:
    """Volumes as int64 when every value is a whole number int64 holds; as delivered (float64)
    otherwise, for the gate to quarantine the rows that are not."""
    if volume.dtype.kind in "iu":
        return volume.astype("int64")
    values = volume.to_numpy("float64")
    if (np.isfinite(values) & (values == np.round(values)) & (np.abs(values) < 2**63)).all():
        return volume.astype("int64")
    return volume.astype("float64")


def normalise_bars(frame: pd.DataFrame, symbol: str, source: str) -> pd.DataFrame:
    """Orders a parsed delivery by time and fixes the column set and types (not a judgement).

    A `delivered` column (feeds.delivered: the text of rows that are not clean numbers) is kept
    when a row has one: a clean delivery has exactly BAR_COLUMNS.
    """
    frame = frame.copy()
    frame["symbol"] = symbol
    frame["data_source"] = source
    # No cache: bar starts are unique, and deciding so makes a Timestamp of each of the first
    # thousands of an already parsed column (about 10 ms for a month of minutes).
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True, cache=False)
    frame[PRICE_COLUMNS] = frame[PRICE_COLUMNS].astype("float64")
    frame["volume"] = share_counts(frame["volume"])
    kept = "delivered" in frame and frame["delivered"].notna().any()
    columns = [*BAR_COLUMNS, "delivered"] if kept else BAR_COLUMNS
    return frame[columns].sort_values("timestamp", kind="stable").reset_index(drop=True)


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
