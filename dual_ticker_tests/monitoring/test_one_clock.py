"""/monitoring/status on one clock: with the replay clock of dev, Dagster's wall-clock stamps (the
last successful run, the daemon's heartbeat) are shown and judged in replay time, like the header."""

import httpx
import pandas as pd
from dagster._daemon.types import DaemonHeartbeat

from dual_ticker.clock import SYSTEM_CLOCK, ReplayClock
from dual_ticker.monitoring.app import create_app
from dual_ticker_tests.support.pipeline import materialize

RECORDED = pd.Timestamp("2020-12-18T14:25Z")  # 09:25 New York, where `make run` replays from


def _line(text: str, label: str) -> str:
    return next(line for line in text.splitlines() if line.strip().startswith(label))


def test_status_shows_the_last_success_and_heartbeat_in_replay_time(
    embedded_database, settings, dagster_instance, serve
):
    clock = ReplayClock(RECORDED)
    base = serve(create_app(embedded_database, settings, clock))
    run = materialize(embedded_database, settings, "2020-12-01", instance=dagster_instance)
    assert run.success
    ended = dagster_instance.get_run_record_by_id(run.run_id).end_time
    dagster_instance.add_daemon_heartbeat(
        DaemonHeartbeat(SYSTEM_CLOCK.now().timestamp() - 20, "SENSOR", "daemon-1", [])
    )

    status = httpx.get(f"{base}/monitoring/status", timeout=10).text
    header = status.splitlines()[0]
    assert "2020-12-18" in header, status
    shown = clock.recorded_time(pd.Timestamp(ended, unit="s", tz="UTC"))
    expected = shown.tz_convert("America/New_York").strftime("%Y-%m-%d %H:%M")
    assert _line(status, "last success").split()[-2:] == expected.split(), status
    assert "2020-12-18" in _line(status, "last success")
    daemon = _line(status, "dagster_daemon")
    assert daemon.split()[1] == "healthy", status


def test_a_stale_heartbeat_degrades_under_the_replay_clock_too(
    embedded_database, settings, dagster_instance, serve
):
    base = serve(create_app(embedded_database, settings, ReplayClock(RECORDED)))
    ten_minutes_ago = SYSTEM_CLOCK.now().timestamp() - 600
    dagster_instance.add_daemon_heartbeat(DaemonHeartbeat(ten_minutes_ago, "SENSOR", "d-1", []))
    health = httpx.get(f"{base}/monitoring/health", timeout=10).json()
    assert health["components"]["dagster_daemon"] == "degraded", health
    assert "last heartbeat 60" in health["details"]["dagster_daemon"], health
