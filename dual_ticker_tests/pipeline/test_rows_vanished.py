"""Downstream never reports a session done with less than the gate passed: when landed rows
vanish between steps (a retention policy dropping a chunk, a manual delete, a lost staging), the
dual_ticker_bars step fails the run naming the session and publishes nothing of its chunk; on
plain PostgreSQL and on TimescaleDB alike."""

import dagster as dg
import pytest

from dual_ticker_tests.support.pipeline import contract_rows, materialize, scalar

RANGE = ("2020-11-30", "2020-12-02")
LANDED = ["raw_bars", "validated_bars"]
FEATURED = [*LANDED, "features"]


def _failure(result) -> str:
    [failure] = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert failure.step_key == "dual_ticker_bars"
    return failure.event_specific_data.error.message


def _delete_regular_minutes(url: str, session: str, symbol: str, minutes: int) -> None:
    scalar(
        url,
        """WITH gone AS (
               DELETE FROM raw_bars WHERE ("symbol", "timestamp") IN (
                   SELECT symbol, "timestamp" FROM raw_bars
                   WHERE session = %s AND symbol = %s
                     AND ("timestamp" AT TIME ZONE 'America/New_York')::time >= '09:30'
                   ORDER BY "timestamp" LIMIT %s)
               RETURNING 1)
           SELECT count(*) FROM gone""",
        (session, symbol, minutes),
    )


def test_raw_rows_dropped_before_features_fail_the_run_naming_the_session(database_url, settings):
    """The retention case: a session's raw rows go after the gate passed them, so features and
    the contract would both silently hold less. (Checked against: publish without the check, the
    run succeeds with 2020-12-01's NVDA rows missing.)"""
    assert materialize(database_url, settings, RANGE, selection=LANDED).success
    _delete_regular_minutes(database_url, "2020-12-01", "NVDA", 390)
    result = materialize(database_url, settings, RANGE, selection=["features", "dual_ticker_bars"])
    assert not result.success
    message = _failure(result)
    assert "session 2020-12-01" in message and "390 of the 390 NVDA minutes" in message
    assert "2020-11-30" not in message and "2020-12-02" not in message
    assert contract_rows(database_url).empty  # the chunk published nothing


def test_raw_rows_dropped_after_features_fail_the_run(database_url, settings):
    assert materialize(database_url, settings, RANGE, selection=FEATURED).success
    _delete_regular_minutes(database_url, "2020-12-02", "MSFT", 7)
    result = materialize(database_url, settings, RANGE, selection=["dual_ticker_bars"])
    assert not result.success
    assert "session 2020-12-02: 7 of the 390 MSFT minutes" in _failure(result)
    assert contract_rows(database_url).empty


def test_staged_rows_lost_before_publishing_fail_the_run(database_url, settings):
    assert materialize(database_url, settings, RANGE, selection=FEATURED).success
    scalar(
        database_url,
        """WITH gone AS (DELETE FROM staged_features WHERE session = '2020-11-30'
                         AND symbol = 'NVDA' AND "timestamp" < '2020-11-30 15:00+00'
                         RETURNING 1)
           SELECT count(*) FROM gone""",
    )
    result = materialize(database_url, settings, RANGE, selection=["dual_ticker_bars"])
    assert not result.success
    message = _failure(result)
    assert "session 2020-11-30: 360 NVDA rows would be published where" in message
    assert "make 390" in message


@pytest.mark.parametrize("selection", [[*FEATURED, "dual_ticker_bars"]])
def test_a_clean_range_publishes_every_passed_bar(database_url, settings, selection):
    assert materialize(database_url, settings, RANGE, selection=selection).success
    assert len(contract_rows(database_url)) == 3 * 2 * 390
