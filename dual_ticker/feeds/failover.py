"""In-run failover: the same window from the next feed when one fails, every attempt reported."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pandas as pd

from dual_ticker.feeds.base import FeedCannotServe, FeedError, IntradayFeed

OK = "ok"
# (feed, symbol, outcome, latency_seconds, bars, detail): the caller records it durably.
RequestReport = Callable[[str, str, str, float, int, "str | None"], None]


@dataclass(frozen=True)
class FeedFailure:
    feed: str
    reason: str
    detail: str


@dataclass(frozen=True)
class FetchResult:
    bars: pd.DataFrame
    source: str
    failures: list[FeedFailure] = field(default_factory=list)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _detail(error: FeedError) -> str:
    return _one_line(str(error).removeprefix(f"{error.feed}: "))


def fetch_with_failover(
    symbol: str,
    start: pd.Timestamp,
    end: pd.Timestamp,
    as_of: pd.Timestamp,
    feeds: Sequence[IntradayFeed],
    on_request: RequestReport | None = None,
) -> FetchResult:
    """Bars of the window from the first feed that delivers them, trying `feeds` in order.

    A FeedError (raised after the client's own retries) or a window the feed cannot serve moves on
    to the next feed for the same window; other exceptions are bugs and propagate. When every feed
    fails, the last real failure's type is raised with one line naming each feed's failure.
    """
    if not feeds:
        raise ValueError("no feeds to fetch from; configure feeds.primary")
    report = on_request or (lambda *args: None)
    failures: list[FeedFailure] = []
    errors: list[FeedError] = []
    for feed in feeds:
        began = time.perf_counter()
        try:
            if not feed.can_serve(start, as_of):
                raise FeedCannotServe(
                    feed.name, f"{symbol}: window starting {start} is outside what it serves"
                )
            bars = feed.fetch_intraday(symbol, start, end, as_of)
        except FeedError as error:
            errors.append(error)
            failures.append(FeedFailure(feed.name, error.reason, _detail(error)))
            report(
                feed.name, symbol, error.reason, time.perf_counter() - began, 0, failures[-1].detail
            )
            continue
        report(feed.name, symbol, OK, time.perf_counter() - began, len(bars), None)
        return FetchResult(bars=bars, source=feed.name, failures=failures)
    # A fallback that cannot serve the window says nothing about why the data is missing: the
    # error type is the last real failure's.
    attempted = [error for error in errors if not isinstance(error, FeedCannotServe)]
    last = (attempted or errors)[-1]
    summary = "; ".join(
        f"{failure.feed} {failure.reason}: {failure.detail}" for failure in failures
    )
    names = ", ".join(failure.feed for failure in failures)
    raise type(last)(names, _one_line(f"{symbol} {start}..{end}: every feed failed: {summary}"))
