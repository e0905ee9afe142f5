"""The minute schedule: the current session's partition, every minute of NYSE regular hours."""

import dagster as dg
import pandas as pd

from dual_ticker.calendar.as_of import AS_OF_TAG
from dual_ticker.calendar.nyse import NEW_YORK, is_session, session_close, session_open
from dual_ticker.clock import SYSTEM_CLOCK, Clock
from dual_ticker.orchestration.assets.market_data import (
    dual_ticker_bars,
    features,
    raw_bars,
    validated_bars,
)
from dual_ticker.orchestration.assets.portfolio import positions
from dual_ticker.orchestration.minute_lock import minute_locked_executor
from dual_ticker.orchestration.partitions import SESSIONS

MINUTE_JOB_TAG = "dual_ticker/minute_job"
MAX_RUNTIME_SECONDS = 120  # run monitoring fails a minute run stuck longer, which frees the lock

minute_job = dg.define_asset_job(
    "minute_job",
    selection=[raw_bars, validated_bars, features, dual_ticker_bars, positions],
    partitions_def=SESSIONS,
    executor_def=minute_locked_executor,  # in process, one minute run at a time
    tags={"dagster/max_runtime": str(MAX_RUNTIME_SECONDS)},
    description="The current session up to the tick: fetch what is missing, gate, features, write.",
)


def minute_request(
    tick: pd.Timestamp, wall: pd.Timestamp | None = None, delay_minutes: int = 0
) -> dg.RunRequest | dg.SkipReason:
    """A run for the tick if a bar arrives then: open < tick - delay <= close of a session.

    `wall`: in replay the wall-clock tick, so a replay started again gets new run keys.
    `delay_minutes`: a delayed feed's bars arrive that late, so its ticks run that much later
    (09:46-16:15 for 15 minutes: the session's last bars are picked up after the close).
    """
    tick = tick.tz_convert(NEW_YORK)
    day = tick.normalize().tz_localize(None)
    if not is_session(day):
        return dg.SkipReason(f"{day.date()} is not an NYSE session")
    delay = pd.Timedelta(minutes=delay_minutes)
    opened, closed = session_open(day) + delay, session_close(day) + delay
    if not opened < tick <= closed:
        hours = "regular hours" if not delay_minutes else f"regular hours {delay_minutes} min late"
        return dg.SkipReason(
            f"{tick:%H:%M} is outside {day.date()}'s {hours} "
            f"({opened.tz_convert(NEW_YORK):%H:%M}-{closed.tz_convert(NEW_YORK):%H:%M})"
        )
    key = str(day.date())
    run_key = f"{key}@{tick.tz_convert('UTC').isoformat()}"
    if wall is not None:
        run_key += f" (replayed at {wall.tz_convert('UTC').isoformat()})"
    return dg.RunRequest(
        run_key=run_key,
        partition_key=key,
        tags={AS_OF_TAG: tick.tz_convert("UTC").isoformat(), MINUTE_JOB_TAG: key},
    )


def build_minute_schedule(
    clock: Clock = SYSTEM_CLOCK, replay: bool = False, delay_minutes: int = 0
) -> dg.ScheduleDefinition:
    """Every minute of NYSE hours; in replay, every wall minute mapped onto the recording (and on
    by default, so `make run` plays the recorded day as if live). A delayed feed's minutes run
    `delay_minutes` later (feeds.delay_minutes, at most 59)."""
    last_hour = "0 16 * * 1-5" if not delay_minutes else f"0-{delay_minutes} 16 * * 1-5"

    @dg.schedule(
        name="minute_schedule",
        job=minute_job,
        # Live: ticks 09:00-16:00 (-16:15 delayed) New York, the calendar gates them. Replay:
        # every wall minute.
        cron_schedule="* * * * *" if replay else ["* 9-15 * * 1-5", last_hour],
        execution_timezone=NEW_YORK,
        default_status=dg.DefaultScheduleStatus.RUNNING
        if replay
        else dg.DefaultScheduleStatus.STOPPED,
        description="Every minute of the NYSE session (holidays and early closes from the calendar).",
    )
    def minute_schedule(context: dg.ScheduleEvaluationContext):
        wall = pd.Timestamp(context.scheduled_execution_time)
        if not replay:
            return minute_request(wall, delay_minutes=delay_minutes)
        return minute_request(clock.recorded_time(wall).floor("min"), wall, delay_minutes)

    return minute_schedule
