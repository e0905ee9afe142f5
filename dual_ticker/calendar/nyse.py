"""NYSE sessions from exchange_calendars: which days trade, when they open and close."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import exchange_calendars as xcals
import numpy as np
import pandas as pd

NEW_YORK = "America/New_York"


@lru_cache(maxsize=1)
def nyse() -> xcals.ExchangeCalendar:
    # The library's default start moves with today; the project's history starts in 2000.
    return xcals.get_calendar("XNYS", start="2000-01-01")


def session_label(day: str | date | pd.Timestamp) -> pd.Timestamp:
    return pd.Timestamp(day).normalize().tz_localize(None)


def is_session(day: str | date | pd.Timestamp) -> bool:
    return bool(nyse().is_session(session_label(day)))


def require_session(day: str | date | pd.Timestamp) -> pd.Timestamp:
    label = session_label(day)
    if not nyse().is_session(label):
        raise ValueError(
            f"{label.date()} is not an NYSE session (weekend or holiday); pick a trading day"
        )
    return label


def session_open(day) -> pd.Timestamp:
    return nyse().session_open(require_session(day))


def session_close(day) -> pd.Timestamp:
    return nyse().session_close(require_session(day))


def sessions_between(start, end) -> pd.DatetimeIndex:
    return nyse().sessions_in_range(session_label(start), session_label(end))


def non_session_weekdays(start, end) -> list[pd.Timestamp]:
    """Weekdays between start and end on which NYSE did not trade (holidays, closures)."""
    end = min(session_label(end), nyse().last_session)
    weekdays = pd.bdate_range(session_label(start), end)
    return list(weekdays.difference(sessions_between(start, end)))


def expected_bar_starts(
    day, bar_minutes: int, as_of: pd.Timestamp | None = None
) -> pd.DatetimeIndex:
    """UTC starts of the bars the session holds, complete by as_of (start + bar <= as_of)."""
    opened, closed = session_open(day), session_close(day)
    step = pd.Timedelta(minutes=bar_minutes)
    starts = pd.date_range(opened, closed - step, freq=step)
    if as_of is not None:
        starts = starts[starts + step <= as_of]
    return starts


def session_of(moment: pd.Timestamp) -> pd.Timestamp | None:
    """The session whose regular hours contain the moment, or None."""
    label = session_label(moment.tz_convert(NEW_YORK))
    if not nyse().is_session(label):
        return None
    if session_open(label) <= moment < session_close(label):
        return label
    return None


def latest_session(at: pd.Timestamp) -> pd.Timestamp:
    """The session on or before the New York date of `at`."""
    return nyse().date_to_session(session_label(at.tz_convert(NEW_YORK)), direction="previous")


def new_york_dates(timestamps: pd.Series) -> pd.Series:
    """'YYYY-MM-DD' of each moment in New York (vectorised: strftime is slow on large frames).
    Bars span few days: each day is formatted once and spread to its rows."""
    wall = (
        timestamps.dt.tz_convert(NEW_YORK).dt.tz_localize(None).to_numpy().astype("datetime64[D]")
    )
    days, of_row = np.unique(wall, return_inverse=True)
    return pd.Series(days.astype(str)[of_row], index=timestamps.index, dtype=object)
