"""One partition per NYSE session (New York dates) from data.history_start, holidays and closures
excluded."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import dagster as dg

from dual_ticker.calendar.nyse import NEW_YORK, non_session_weekdays, nyse
from dual_ticker.settings import load_settings


def session_partitions(history_start: date) -> dg.DailyPartitionsDefinition:
    zone = ZoneInfo(NEW_YORK)
    closed = [
        datetime(day.year, day.month, day.day, tzinfo=zone)
        for day in non_session_weekdays(history_start, nyse().last_session)
    ]
    return dg.DailyPartitionsDefinition(
        start_date=history_start.isoformat(),
        timezone=NEW_YORK,
        end_offset=1,  # today's session is a partition while it trades
        exclusions=["0 0 * * 6", "0 0 * * 0", *closed],
    )


SESSIONS = session_partitions(load_settings().data.history_start)
