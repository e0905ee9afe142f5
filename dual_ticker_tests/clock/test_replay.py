"""Replay as if live: one anchor shared by every process maps wall time onto the recording; the
minute schedule in replay mode requests the recorded minutes."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

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
from dual_ticker.settings import ConfigError, load_settings

ROOT = Path(__file__).resolve().parents[2]


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


def test_replay_start_and_speed_from_the_environment_override_the_file(tmp_path):
    settings = load_settings(
        {
            "DUAL_TICKER_ENV": "prod",  # the wall clock in its file
            "DUAL_TICKER_HOME": str(tmp_path),
            "DUAL_TICKER_REPLAY_START": "2020-12-18 10:00",
            "DUAL_TICKER_REPLAY_SPEED": "30",
        }
    )
    assert settings.clock.mode == "replay" and settings.clock.speed == 30
    assert pd.Timestamp(settings.clock.replay_start) == pd.Timestamp(
        "2020-12-18 10:00", tz="America/New_York"
    )
    assert isinstance(clock_from_settings(settings), SharedReplayClock)


def test_a_wrong_replay_start_or_speed_is_one_line_naming_the_variable(tmp_path):
    for variable, value in [
        ("DUAL_TICKER_REPLAY_START", "soon"),
        ("DUAL_TICKER_REPLAY_SPEED", "0"),
    ]:
        environ = {"DUAL_TICKER_HOME": str(tmp_path), variable: value}
        with pytest.raises(ConfigError, match=variable) as error:
            load_settings(environ)
        assert "\n" not in str(error.value)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _status(port: int) -> str | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/monitoring/status", timeout=5) as r:
            return r.read().decode()
    except OSError:
        return None


@pytest.mark.slow
def test_run_replay_start_and_speed_set_the_clock_every_process_reads(embedded_database, tmp_path):
    """`python -m dual_ticker run --replay-start ... --speed 30` on a wall-clock config: the
    sidecar, a process of the stack, shows the recorded moment."""
    sidecar_port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "DUAL_TICKER_"))}
    env |= {
        "DUAL_TICKER_ENV": "ci",
        "DUAL_TICKER_HOME": str(tmp_path / "home"),
        "DUAL_TICKER_DATABASE_URL": embedded_database,
        "DUAL_TICKER_SIDECAR_PORT": str(sidecar_port),
    }
    command = [sys.executable, "-m", "dual_ticker", "run", "--ui-port", str(_free_port())]
    stack = subprocess.Popen(
        [*command, "--replay-start", "2020-12-18 10:00", "--speed", "30"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline, status = time.monotonic() + 90, None
        while status is None and time.monotonic() < deadline:
            assert stack.poll() is None, stack.stdout.read()
            status = _status(sidecar_port)
            time.sleep(0.5)
        assert status is not None, "the sidecar did not answer within 90 s"
        assert "(2020-12-18 10:" in status, status
        anchor = json.loads((tmp_path / "home" / "replay_clock.json").read_text())
        assert anchor["speed"] == 30
    finally:
        os.killpg(stack.pid, signal.SIGINT)
        output, _ = stack.communicate(timeout=60)
    assert "replaying from 2020-12-18 10:00 New York" in output, output[-3000:]


def test_runs_read_the_replay_clock_the_schedule_reads(tmp_path):
    """A replayed minute run judges freshness and sizes its requests by the recorded now (as a
    live run does by the wall clock), not by today's date."""
    from dual_ticker.definitions import build_definitions

    settings = load_settings(
        {
            "DUAL_TICKER_HOME": str(tmp_path),
            "DUAL_TICKER_ENV": "prod",
            "DUAL_TICKER_REPLAY_START": "2020-12-18 10:00",
        }
    )
    start_replay(settings)
    run_clock = build_definitions(settings).resources["clock"]
    recorded = pd.Timestamp("2020-12-18 10:00", tz="America/New_York")
    assert recorded <= run_clock.now() < recorded + pd.Timedelta(minutes=1)
