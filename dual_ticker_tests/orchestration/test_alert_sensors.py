"""The alert sensors on a real Dagster instance (its storage in the test database), runs of the
real asset graph, and a loopback webhook: one alert per blocked run, none while a session stays
blocked, one per failed run, one per WARN episode, no secret anywhere."""

import logging

import dagster as dg
import pandas as pd
import psycopg2
import pytest

from dual_ticker.orchestration.resources import DatabaseResource
from dual_ticker.orchestration.sensors.alerts import (
    AlertResource,
    check_warning_alert_sensor,
    run_failure_alert_sensor,
)
from dual_ticker_tests.monitoring.conftest import BLOCKED_SESSION, missing_minutes_replay
from dual_ticker_tests.support.pipeline import (
    check_evaluations,
    materialize,
    recorded,
    write_replay,
)
from dual_ticker_tests.support.webhook_receiver import WebhookReceiver

CANARY = "CANARY-SECRET"


def ny(clock_time: str) -> str:
    return (
        pd.Timestamp(f"{BLOCKED_SESSION} {clock_time}", tz="America/New_York")
        .tz_convert("UTC")
        .isoformat()
    )


def gap_replay(folder, start: str, end: str):
    """The recording without MSFT's minutes of the session from start to end (New York, HH:MM)."""
    frames = {symbol: recorded(symbol) for symbol in ("NVDA", "MSFT")}
    msft = frames["MSFT"]
    stamps = pd.to_datetime(msft["timestamp"])
    gap = (
        (stamps.dt.strftime("%Y-%m-%d") == BLOCKED_SESSION)
        & (stamps.dt.strftime("%H:%M") >= start)
        & (stamps.dt.strftime("%H:%M") < end)
    )
    frames["MSFT"] = msft[~gap]
    return write_replay(folder, frames)


@pytest.fixture
def hook():
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def resources(embedded_database, settings, hook):
    return {
        "database": DatabaseResource(url=embedded_database, home=str(settings.home)),
        "alerts": AlertResource(
            webhook_url=hook.url_for(f"/hooks/T0/B0/{CANARY}"), backoff_seconds=0.01
        ),
    }


def on_failure(instance, result, resources) -> None:
    """What the daemon does when the run fails: evaluates the run-failure sensor for it."""
    context = dg.build_run_status_sensor_context(
        sensor_name="run_failure_alert_sensor",
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        dagster_event=result.get_run_failure_event(),
        resources=resources,
    )
    run_failure_alert_sensor(context)


def tick_check_sensor(instance, resources, cursor):
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources)
    check_warning_alert_sensor(context)
    return context.cursor


def stored_alerts(url: str) -> list[tuple]:
    connection = psycopg2.connect(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT kind, dedupe_key, message, run_id, delivered_at, last_error "
                "FROM alerts ORDER BY id"
            )
            return cursor.fetchall()
    finally:
        connection.close()


def test_one_alert_per_blocked_run_and_none_while_the_session_stays_blocked(
    embedded_database, settings, dagster_instance, resources, hook, tmp_path, caplog
):
    caplog.set_level(logging.DEBUG)

    def run(replay, as_of):
        return materialize(
            embedded_database,
            settings,
            BLOCKED_SESSION,
            replay_dir=replay or settings.replay_dir,
            as_of=as_of,
            instance=dagster_instance,
        )

    cursor = tick_check_sensor(dagster_instance, resources, None)
    early_gap = gap_replay(tmp_path / "gap13", "13:00", "14:00")

    first = run(early_gap, ny("14:00"))
    assert not first.success
    missing = check_evaluations(first)["check_raw_bars_missing_data"]
    assert not missing.passed and missing.severity.value == "ERROR"
    on_failure(dagster_instance, first, resources)
    on_failure(dagster_instance, first, resources)  # evaluated twice for the same run: one alert

    [alert] = hook.wait_for(1)
    assert alert["text"].startswith(
        f"[ERROR] blocked_run: Session {BLOCKED_SESSION} blocked by the quality gate"
    )
    assert "raw_bars/check_raw_bars_missing_data failed: MSFT missing" in alert["text"]

    still_blocked = run(early_gap, ny("14:00"))
    assert (
        not still_blocked.success
        and not check_evaluations(still_blocked)["check_raw_bars_missing_data"].passed
    )
    on_failure(dagster_instance, still_blocked, resources)
    assert len(hook.delivered) == 1  # the same session blocked on the same check: no new alert

    passing = run(None, ny("14:00"))  # the clean recording fills the gap: the session passes
    assert passing.success
    blocked_again = run(gap_replay(tmp_path / "gap14", "14:00", "15:00"), ny("15:00"))
    assert not blocked_again.success
    on_failure(dagster_instance, blocked_again, resources)

    assert len(hook.wait_for(2)) == 2  # it passed in between: a new episode
    cursor = tick_check_sensor(dagster_instance, resources, cursor)
    rows = stored_alerts(embedded_database)
    assert [row[3] for row in rows if row[0] == "blocked_run"] == [
        first.run_id,
        blocked_again.run_id,
    ]
    # The check sensor reports WARN checks only (here the gap also left MSFT's latest bar an hour
    # old); the failed ERROR check is the blocked run's alert, not a second one.
    warnings = [row for row in rows if row[0] == "check_warning"]
    assert all("check_raw_bars_missing_data" not in row[1] for row in warnings)
    assert len(hook.wait_for(len(rows))) == len(rows) and all(row[4] is not None for row in rows)
    assert (
        CANARY not in str(rows) and CANARY not in caplog.text and CANARY not in str(hook.delivered)
    )


def test_a_crashed_run_raises_one_failed_run_alert(
    embedded_database, settings, dagster_instance, resources, hook, tmp_path
):
    empty = tmp_path / "no_recordings"
    empty.mkdir()
    crashed = materialize(
        embedded_database, settings, "2020-12-01", replay_dir=empty, instance=dagster_instance
    )
    assert not crashed.success and not check_evaluations(
        crashed
    )  # no check ran: a crash, not a block

    on_failure(dagster_instance, crashed, resources)

    [alert] = hook.wait_for(1)
    assert alert["text"].startswith("[ERROR] failed_run: Run ")
    assert "(step raw_bars)" in alert["text"] and "no recording" in alert["text"]
    assert (
        "Error occurred while executing op" not in alert["text"]
    )  # the cause, not Dagster's wrapper
    assert stored_alerts(embedded_database)[0][1] == f"run:{crashed.run_id}"

    # Dagster's automatic retry of that run (run_retries) fails the same way: still one alert.
    retry = materialize(
        embedded_database,
        settings,
        "2020-12-01",
        replay_dir=empty,
        instance=dagster_instance,
        extra_tags={
            "dagster/root_run_id": crashed.run_id,
            "dagster/parent_run_id": crashed.run_id,
            "dagster/retry_number": "1",
        },
    )
    assert not retry.success
    on_failure(dagster_instance, retry, resources)
    assert len(stored_alerts(embedded_database)) == 1 and len(hook.delivered) == 1


def test_a_warn_check_alerts_once_per_session_until_it_passes(
    embedded_database, settings, dagster_instance, resources, hook, tmp_path
):
    cursor = tick_check_sensor(dagster_instance, resources, None)  # starts after existing history
    gappy = missing_minutes_replay(tmp_path / "gappy", minutes=10)

    warned = materialize(
        embedded_database, settings, BLOCKED_SESSION, replay_dir=gappy, instance=dagster_instance
    )
    assert warned.success  # WARN never blocks
    missing = check_evaluations(warned)["check_raw_bars_missing_data"]
    assert not missing.passed and missing.severity.value == "WARN"
    cursor = tick_check_sensor(dagster_instance, resources, cursor)
    again = materialize(
        embedded_database, settings, BLOCKED_SESSION, replay_dir=gappy, instance=dagster_instance
    )
    assert not check_evaluations(again)["check_raw_bars_missing_data"].passed
    cursor = tick_check_sensor(dagster_instance, resources, cursor)
    assert (
        tick_check_sensor(dagster_instance, resources, cursor) == cursor
    )  # nothing new, nothing re-read

    [alert] = hook.wait_for(1)
    assert alert["text"].startswith(
        f"[WARN] check_warning: Session {BLOCKED_SESSION}: WARN check "
        "raw_bars/check_raw_bars_missing_data failed"
    )
    assert [row[0] for row in stored_alerts(embedded_database)] == ["check_warning"]
