"""Whether stored bars are fresh, judged against the NYSE calendar.

During the regular session the latest bar must have ended within `lag_bars` bar sizes of now (in
the first minutes of a session, before that many bars can exist, the previous session must be
complete). Outside market hours data is fresh when the last session is complete.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from dual_ticker.calendar.nyse import (
    expected_bar_starts,
    latest_session,
    nyse,
    session_close,
    session_of,
    session_open,
)

LAG_BARS = 3  # a minute run lands its bar seconds after the minute; three bars absorb a slow run


@dataclass(frozen=True)
class Freshness:
    symbol: str
    latest_end: pd.Timestamp | None  # end of the latest stored bar (start + bar size), UTC
    required_end: pd.Timestamp
    age_seconds: float | None

    @property
    def fresh(self) -> bool:
        return self.latest_end is not None and self.latest_end >= self.required_end


def market_open(now: pd.Timestamp) -> bool:
    return session_of(now) is not None


def session_data_end(
    session: pd.Timestamp, bar_minutes: int, max_bars: int | None = None
) -> pd.Timestamp:
    """End of the session's last complete bar: the close, earlier when bars are capped (CI)."""
    end = session_close(session)
    if max_bars is not None:
        end = min(end, session_open(session) + pd.Timedelta(minutes=bar_minutes * max_bars))
    starts = expected_bar_starts(session, bar_minutes, as_of=end)
    return starts[-1] + pd.Timedelta(minutes=bar_minutes) if len(starts) else session_open(session)


def last_complete_session(now: pd.Timestamp) -> pd.Timestamp:
    """The latest session whose close is at or before now."""
    session = latest_session(now)
    while session_close(session) > now:
        session = nyse().previous_session(session)
    return session


def required_bar_end(
    now: pd.Timestamp, bar_minutes: int, max_bars: int | None = None, lag_bars: int = LAG_BARS
) -> pd.Timestamp:
    """The bar end the latest stored bar must reach for data to count as fresh at `now`."""
    session = session_of(now)
    if session is None:
        return session_data_end(last_complete_session(now), bar_minutes, max_bars)
    required = now - pd.Timedelta(minutes=bar_minutes * lag_bars)
    if required <= session_open(session):
        return session_data_end(nyse().previous_session(session), bar_minutes, max_bars)
    return min(required, session_data_end(session, bar_minutes, max_bars))


def judge(
    symbol: str,
    latest_start: pd.Timestamp | None,
    now: pd.Timestamp,
    bar_minutes: int,
    max_bars: int | None = None,
    delay_minutes: int = 0,
) -> Freshness:
    """Freshness of one symbol from the start of its latest stored bar (None: no bars); with a
    delayed feed (feeds.delay_minutes), judged as of that much before now."""
    required = required_bar_end(now - pd.Timedelta(minutes=delay_minutes), bar_minutes, max_bars)
    if latest_start is None:
        return Freshness(symbol, None, required, None)
    end = pd.Timestamp(latest_start).tz_convert("UTC") + pd.Timedelta(minutes=bar_minutes)
    return Freshness(symbol, end, required, (now - end).total_seconds())
