"""The minute schedule follows the NYSE calendar: no runs on holidays, none after an early close."""

import dagster as dg
import pandas as pd
from dagster._utils.schedules import schedule_execution_time_iterator

from dual_ticker.calendar.as_of import AS_OF_TAG
from dual_ticker.definitions import defs
from dual_ticker.orchestration.schedules import MINUTE_JOB_TAG, build_minute_schedule

REPOSITORY = defs.get_repository_def()
# The live schedule: what definitions registers outside replay (the dev config replays).
minute_schedule = build_minute_schedule()


def _ticks(day: str) -> pd.DatetimeIndex:
    start = pd.Timestamp(f"{day} 00:00", tz="America/New_York")
    ticks = []
    # The iterator the Dagster scheduler itself uses for this schedule's cron strings.
    for tick in schedule_execution_time_iterator(
        start.timestamp(), minute_schedule.cron_schedule, minute_schedule.execution_timezone
    ):
        if tick >= (start + pd.Timedelta(days=1)).to_pydatetime():
            break
        ticks.append(tick)
    return pd.DatetimeIndex(ticks)


def _evaluate(tick):
    with dg.build_schedule_context(
        scheduled_execution_time=tick.to_pydatetime(), repository_def=REPOSITORY
    ) as context:
        return minute_schedule.evaluate_tick(context)


def _requests(day):
    runs = []
    for tick in _ticks(day):
        result = _evaluate(tick)
        runs += result.run_requests or []
    return runs


def test_cron_ticks_every_minute_from_nine_to_four_in_new_york():
    ticks = _ticks("2020-11-27")
    assert len(ticks) == 7 * 60 + 1
    assert ticks[0].strftime("%H:%M") == "09:00" and ticks[-1].strftime("%H:%M") == "16:00"
    assert str(ticks.tz) == "America/New_York"


def test_full_session_runs_every_minute_0931_to_1600():
    runs = _requests("2020-12-01")
    assert len(runs) == 390
    assert {r.partition_key for r in runs} == {"2020-12-01"}
    first, last = runs[0].tags[AS_OF_TAG], runs[-1].tags[AS_OF_TAG]
    assert pd.Timestamp(first) == pd.Timestamp("2020-12-01 09:31", tz="America/New_York")
    assert pd.Timestamp(last) == pd.Timestamp("2020-12-01 16:00", tz="America/New_York")
    assert all(r.tags[MINUTE_JOB_TAG] == "2020-12-01" for r in runs)
    assert len({r.run_key for r in runs}) == 390


def test_thanksgiving_has_no_runs():
    assert _requests("2020-11-26") == []
    skipped = _evaluate(pd.Timestamp("2020-11-26 12:00", tz="America/New_York"))
    assert "not an NYSE session" in skipped.skip_message


def test_early_close_stops_at_1300():
    runs = _requests("2020-11-27")
    assert len(runs) == 210
    assert pd.Timestamp(runs[-1].tags[AS_OF_TAG]) == pd.Timestamp(
        "2020-11-27 13:00", tz="America/New_York"
    )
    after = _evaluate(pd.Timestamp("2020-11-27 13:01", tz="America/New_York"))
    assert "outside 2020-11-27's regular hours (09:30-13:00)" in after.skip_message


def test_dst_change_keeps_new_york_hours():
    for day in ("2021-03-12", "2021-03-15"):
        runs = _requests(day)
        assert len(runs) == 390
        assert (
            pd.Timestamp(runs[0].tags[AS_OF_TAG]).tz_convert("America/New_York").strftime("%H:%M")
            == "09:31"
        )
