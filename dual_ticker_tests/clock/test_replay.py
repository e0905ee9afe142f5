"""Replay as if live: one anchor shared by every process maps wall time onto the recording; the
minute schedule in replay mode requests the recorded minutes."""

import json

import dagster as dg
import pandas as pd

from dual_ticker.calendar.as_of import AS_OF_TAG
from dual_ticker.clock import SYSTEM_CLOCK, ReplayClock
from dual_ticker.clock.replay import (
    SharedReplayClock,
    anchor_path,
    clock_from_settings,
    start_replay,
)
from dual_ticker.definitions import defs
from dual_ticker.orchestration.schedules import build_minute_schedule
from dual_ticker.settings import load_settings


def _settings(tmp_path):
    return load_settings({"DUAL_TICKER_HOME": str(tmp_path)})


def test_dev_replays_and_prod_uses_the_wall_clock(tmp_path):
    assert isinstance(clock_from_settings(_settings(tmp_path)), SharedReplayClock)
    assert clock_from_settings(load_settings({"DUAL_TICKER_ENV": "prod"})) is SYSTEM_CLOCK
    assert not anchor_path(_settings(tmp_path)).exists()  # nothing is written until asked


def test_processes_share_one_anchor(tmp_path):
    settings = _settings(tmp_path)
    started = start_replay(settings)
    anchor = json.loads(anchor_path(settings).read_text())
    assert pd.Timestamp(anchor["recorded_start"]) == pd.Timestamp(
        "2020-12-18 09:25", tz="America/New_York"
    )
    one, other = SharedReplayClock(settings), SharedReplayClock(settings)  # e.g. daemon and sidecar
    assert abs(one.now() - other.now()) < pd.Timedelta(seconds=1)
    assert abs(one.now() - started.now()) < pd.Timedelta(seconds=1)
    wall = started.wall_start + pd.Timedelta(minutes=7)
    assert one.recorded_time(wall) == pd.Timestamp("2020-12-18 09:32", tz="America/New_York")


def test_replay_schedule_requests_the_recorded_minute(tmp_path):
    wall_start = pd.Timestamp("2026-11-24 12:00:10", tz="UTC")
    clock = ReplayClock(pd.Timestamp("2020-12-01 09:25", tz="America/New_York"), wall_start)
    schedule = build_minute_schedule(clock, replay=True)
    assert schedule.cron_schedule == "* * * * *"
    repository = defs.get_repository_def()

    def evaluate(wall):
        with dg.build_schedule_context(
            scheduled_execution_time=wall.to_pydatetime(), repository_def=repository
        ) as context:
            return schedule.evaluate_tick(context)

    before_open = evaluate(pd.Timestamp("2026-11-24 12:04", tz="UTC"))  # recorded 09:28
    assert "outside 2020-12-01's regular hours" in before_open.skip_message
    [request] = evaluate(
        pd.Timestamp("2026-11-24 12:10", tz="UTC")
    ).run_requests  # recorded 09:34:50
    assert request.partition_key == "2020-12-01"
    assert pd.Timestamp(request.tags[AS_OF_TAG]) == pd.Timestamp(
        "2020-12-01 09:34", tz="America/New_York"
    )
    assert "replayed at 2026-11-24T12:10:00+00:00" in request.run_key
