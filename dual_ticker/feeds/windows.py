"""What a delivery covers: its window's complete bars, its freshness, the requests it takes."""

from __future__ import annotations

import pandas as pd

from dual_ticker.calendar.nyse import NEW_YORK
from dual_ticker.feeds.base import FeedEmpty, FeedStale, FeedUnparseable
from dual_ticker.feeds.delivered import malformed

# How far a live delivery's latest bar may lag the run's as_of (data_quality.yaml's default).
DEFAULT_STALENESS = pd.Timedelta(minutes=5)


def complete_in_window(
    bars: pd.DataFrame,
    start: pd.Timestamp,
    end: pd.Timestamp,
    as_of: pd.Timestamp,
    interval: pd.Timedelta,
) -> pd.DataFrame:
    """Bars starting in [start, end) that are complete by as_of (start + interval <= as_of), and
    rows whose time could not be read: they belong to the window they were delivered for."""
    stamps = bars["timestamp"]
    keep = ((stamps >= start) & (stamps < end) & (stamps + interval <= as_of)) | stamps.isna()
    return bars[keep].reset_index(drop=True)


def require_bars(
    bars: pd.DataFrame, feed: str, symbol: str, start: pd.Timestamp, stop: pd.Timestamp
) -> None:
    """A delivery without a bar is empty; one whose every row is malformed is unparseable (a
    feed failure, so the fallback serves the window; a few malformed rows are the gate's)."""
    if bars.empty:
        raise FeedEmpty(feed, f"{symbol}: no bars between {start} and {stop}")
    if malformed(bars).all():
        raise FeedUnparseable(
            feed,
            f"{symbol}: none of the {len(bars)} delivered row(s) between {start} and {stop} "
            "holds numbers and a readable time",
        )


def ensure_fresh(
    bars: pd.DataFrame,
    feed: str,
    symbol: str,
    fresh_by: pd.Timestamp,
    staleness: pd.Timedelta,
    interval: pd.Timedelta,
) -> None:
    """Raises FeedStale when the delivery's latest complete bar ends more than `staleness` before
    `fresh_by` (the run's as_of, or the window's end when that is earlier, e.g. the close)."""
    latest_end = bars["timestamp"].max() + interval if not bars.empty else None
    if latest_end is None or latest_end < fresh_by - staleness:
        shown = "none" if latest_end is None else str(latest_end - interval)
        raise FeedStale(
            feed,
            f"{symbol}: latest bar {shown} lags {fresh_by} by more than {staleness}; "
            "the provider is behind, the fallback serves this window",
        )


def months_between(start: pd.Timestamp, stop: pd.Timestamp) -> list[str]:
    """The New York calendar months ('YYYY-MM') that [start, stop) touches, oldest first."""
    first = start.tz_convert(NEW_YORK).tz_localize(None).to_period("M")
    last = (
        (stop - pd.Timedelta(microseconds=1)).tz_convert(NEW_YORK).tz_localize(None).to_period("M")
    )
    return [str(month) for month in pd.period_range(first, max(first, last), freq="M")]


def chunks(
    start: pd.Timestamp, stop: pd.Timestamp, size: pd.Timedelta
) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """[start, stop) cut into consecutive pieces of at most `size`."""
    pieces = []
    while start < stop:
        pieces.append((start, min(start + size, stop)))
        start = pieces[-1][1]
    return pieces
