"""One partition per NYSE session (New York dates), holidays and closures excluded."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg

from dual_ticker.calendar.nyse import HISTORY_START, NEW_YORK, non_session_weekdays, nyse


def session_partitions() -> dg.DailyPartitionsDefinition:
    zone = ZoneInfo(NEW_YORK)
    closed = [
        datetime(day.year, day.month, day.day, tzinfo=zone)
        for day in non_session_weekdays(HISTORY_START, nyse().last_session)
    ]
    return dg.DailyPartitionsDefinition(
        start_date=HISTORY_START,
        timezone=NEW_YORK,
        end_offset=1,  # today's session is a partition while it trades
        exclusions=["0 0 * * 6", "0 0 * * 0", *closed],
    )


SESSIONS = session_partitions()
