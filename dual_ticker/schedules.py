"""The minute schedule: the current session's partition, every minute of NYSE regular hours."""

import dagster as dg
import pandas as pd

from dual_ticker.assets.market_data import dual_ticker_bars, features, raw_bars, validated_bars
from dual_ticker.assets.portfolio import positions
from dual_ticker.market_calendar import NEW_YORK, is_session, session_close, session_open
from dual_ticker.partitions import SESSIONS
from dual_ticker.run_time import AS_OF_TAG

MINUTE_JOB_TAG = "dual_ticker/minute_job"  # dagster.yaml limits runs with this tag to one at a time

minute_job = dg.define_asset_job(
    "minute_job",
    selection=[raw_bars, validated_bars, features, dual_ticker_bars, positions],
    partitions_def=SESSIONS,
    executor_def=dg.in_process_executor,
    description="The current session up to the tick: fetch what is missing, gate, features, write.",
)


def minute_request(tick: pd.Timestamp) -> dg.RunRequest | dg.SkipReason:
    """A run for the tick if a bar completes then: open < tick <= close of a session."""
    tick = tick.tz_convert(NEW_YORK)
    day = tick.normalize().tz_localize(None)
    if not is_session(day):
        return dg.SkipReason(f"{day.date()} is not an NYSE session")
    opened, closed = session_open(day), session_close(day)
    if not opened < tick <= closed:
        return dg.SkipReason(
            f"{tick:%H:%M} is outside {day.date()}'s regular hours "
            f"({opened.tz_convert(NEW_YORK):%H:%M}-{closed.tz_convert(NEW_YORK):%H:%M})"
        )
    key = str(day.date())
    return dg.RunRequest(
        run_key=f"{key}@{tick.tz_convert('UTC').isoformat()}",
        partition_key=key,
        tags={AS_OF_TAG: tick.tz_convert("UTC").isoformat(), MINUTE_JOB_TAG: key},
    )


@dg.schedule(
    job=minute_job,
    cron_schedule=["* 9-15 * * 1-5", "0 16 * * 1-5"],  # ticks 09:00-16:00; the calendar gates them
    execution_timezone=NEW_YORK,
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Every minute of the NYSE session (holidays and early closes from the calendar).",
)
def minute_schedule(context: dg.ScheduleEvaluationContext):
    return minute_request(pd.Timestamp(context.scheduled_execution_time))
