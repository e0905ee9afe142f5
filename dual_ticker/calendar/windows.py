"""A run's sessions as windows: regular hours and the moment up to which bars exist (as_of)."""

from __future__ import annotations

import pandas as pd

from dual_ticker.calendar.as_of import session_as_of
from dual_ticker.calendar.nyse import session_close, session_label, session_open, sessions_between
from dual_ticker.quality.rules import Window


def session_window(session: pd.Timestamp, as_of: pd.Timestamp) -> Window:
    return Window(str(session.date()), session_open(session), session_close(session), as_of)


def run_windows(
    keys: list[str],
    now: pd.Timestamp,
    tagged_as_of: str | None,
    bar_minutes: int,
    max_bars: int | None,
    delay_minutes: int = 0,
) -> dict[str, Window]:
    """The run's sessions in order, each with its as_of (the tick for live runs, else the close,
    never past `now`; `delay_minutes` earlier for a delayed feed)."""
    windows = {}
    for key in sorted(keys):
        session = session_label(key)
        as_of = session_as_of(session, now, tagged_as_of, bar_minutes, max_bars, delay_minutes)
        windows[key] = session_window(session, as_of)
    return windows


def session_keys(first: str, last: str) -> list[str]:
    """The NYSE sessions from first to last, as partition keys."""
    return [str(day.date()) for day in sessions_between(first, last)]
