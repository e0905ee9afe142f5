"""A run's as_of: the moment up to which bars exist for it (bars complete by then)."""

from __future__ import annotations

import pandas as pd

from dual_ticker.calendar.nyse import session_close, session_open
from dual_ticker.clock import to_utc

AS_OF_TAG = "dual_ticker/as_of"


def session_as_of(
    session: pd.Timestamp,
    now: pd.Timestamp,
    tagged: str | None,
    bar_minutes: int,
    max_bars: int | None,
    delay_minutes: int = 0,
) -> pd.Timestamp:
    """The scheduled tick (tag) for live runs, else now; never past the close (backfills end there).

    With `max_bars` (the CI config's few bars) the session is cut after that many bars. With a
    delayed feed (`delay_minutes`) the moment is that much earlier: no bar newer exists for it.
    """
    moment = (to_utc(tagged) if tagged else now) - pd.Timedelta(minutes=delay_minutes)
    limit = session_close(session)
    if max_bars is not None:
        limit = min(limit, session_open(session) + pd.Timedelta(minutes=bar_minutes * max_bars))
    return min(moment, limit)
