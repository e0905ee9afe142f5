"""A feed wrapper that refuses deliveries larger than the configured bound (data.max_bars_per_session
per session in the window): an oversized delivery is a feed failure, so the fallback is asked."""

from __future__ import annotations

import pandas as pd

from dual_ticker.calendar.nyse import sessions_between
from dual_ticker.feeds.base import FeedUnparseable, IntradayFeed


class BoundedFeed(IntradayFeed):
    def __init__(self, feed: IntradayFeed, max_bars_per_session: int):
        self.feed = feed
        self.name = feed.name
        self.max_bars_per_session = max_bars_per_session

    def can_serve(self, start, as_of) -> bool:
        return self.feed.can_serve(start, as_of)

    def fetch_intraday(self, symbol, start, end, as_of):
        bars = self.feed.fetch_intraday(symbol, start, end, as_of)
        days = pd.Timestamp(start).tz_convert("America/New_York").normalize().tz_localize(None)
        last = pd.Timestamp(end).tz_convert("America/New_York").normalize().tz_localize(None)
        limit = self.max_bars_per_session * max(1, len(sessions_between(days, last)))
        if len(bars) > limit:
            raise FeedUnparseable(
                self.name,
                f"{symbol}: {len(bars)} bars in one delivery exceed data.max_bars_per_session "
                f"({self.max_bars_per_session} a session); the provider sent more than a session holds",
            )
        return bars
