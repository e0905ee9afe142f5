"""The still-forming minute through the real asset graph: both simulators serve it with its values
so far; a scheduled tick and a manual materialization mid-minute store nothing of it, the next run
stores its final values, and no run blocks on a minute "delivered twice differently"."""

import dagster as dg
import pandas as pd
import psycopg2
import pytest

from dual_ticker.clock import FixedClock
from dual_ticker_tests.support.alpha_vantage_server import AlphaVantageSimulator
from dual_ticker_tests.support.pipeline import (
    check_evaluations,
    materialize,
    prod_settings_on,
    recorded,
)
from dual_ticker_tests.support.yahoo_server import YahooSimulator

CANARY = "CANARY-AV-KEY-1616"
SESSION = "2020-12-01"
FORMING = pd.Timestamp(f"{SESSION} 10:05", tz="America/New_York").tz_convert("UTC")
MINUTE = pd.Timedelta(minutes=1)
MID_MINUTE = FORMING + pd.Timedelta(seconds=40)
VALUES = ["open", "high", "low", "close", "volume"]
GRAPH = ["raw_bars", "validated_bars", "features", "dual_ticker_bars"]


@pytest.fixture(params=["alpha_vantage", "yahoo_finance"])
def world(request, monkeypatch, test_home):
    """Settings with this primary (no fallback to hide a failure) and both simulators, serving
    the forming minute."""
    monkeypatch.setenv("ALPHAVANTAGE_API_KEY", CANARY)
    with AlphaVantageSimulator() as av, YahooSimulator() as yahoo:
        settings = prod_settings_on(
            test_home,
            av,
            yahoo,
            primary=request.param,
            fallback=None,
            retry_attempts=2,
            retry_delay=0.01,
        )
        for server in (av, yahoo):
            server.serve_forming()
        yield settings, av if request.param == "alpha_vantage" else yahoo


def final_values(symbol: str, minute: pd.Timestamp) -> pd.Series:
    frame = recorded(symbol)
    stamps = pd.to_datetime(frame["timestamp"]).dt.tz_localize("America/New_York")
    (row,) = frame[stamps.dt.tz_convert("UTC") == minute].to_dict("records")
    return pd.Series(row)[VALUES].astype(float)


def raw_rows(database_url: str) -> pd.DataFrame:
    connection = psycopg2.connect(database_url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                """SELECT symbol, "timestamp", open, high, low, close, volume, conflict,
                          gate_status FROM raw_bars ORDER BY symbol, "timestamp" """
            )
            return pd.DataFrame(cursor.fetchall(), columns=[d.name for d in cursor.description])
    finally:
        connection.close()


def run_at(database_url, settings, server, moment, tick, instance):
    """A run with the clock and the simulator at `moment`: tagged with its tick (the minute
    schedule's run) or untagged (a manual materialization, as_of = now)."""
    server.set_now(moment)
    result = materialize(
        database_url,
        settings,
        SESSION,
        as_of=tick.isoformat() if tick is not None else None,
        clock=FixedClock(moment),
        instance=instance,
        selection=GRAPH,
    )
    assert result.success
    timestamps = check_evaluations(result)["check_raw_bars_timestamps"]
    assert timestamps.passed, timestamps.description  # no minute delivered twice differently
    return result


@pytest.mark.parametrize("run", ["scheduled_tick", "manual_mid_minute"])
def test_the_forming_minute_is_stored_only_final(world, embedded_database, run):
    settings, server = world
    instance = dg.DagsterInstance.ephemeral()
    for symbol in settings.data.symbols:
        server.set_now(MID_MINUTE)
        served = server.revealed(symbol)
        partial = served[served["timestamp"] == FORMING.tz_convert("America/New_York")]
        assert (
            partial["volume"].iloc[0] < final_values(symbol, FORMING)["volume"]
        )  # served, partial

    # The tick 10:05 runs at 10:05:40 (the provider already has 10:05 forming); a manual
    # materialization at 10:05:40 has that as its as_of.
    run_at(
        embedded_database,
        settings,
        server,
        MID_MINUTE,
        FORMING if run == "scheduled_tick" else None,
        instance,
    )
    first = raw_rows(embedded_database)
    assert not (first["timestamp"] == FORMING).any()
    assert (first.groupby("symbol")["timestamp"].max() == FORMING - MINUTE).all()

    later = FORMING + MINUTE + pd.Timedelta(seconds=10)
    run_at(
        embedded_database,
        settings,
        server,
        later,
        FORMING + MINUTE if run == "scheduled_tick" else None,
        instance,
    )
    rows = raw_rows(embedded_database)
    assert not rows.duplicated(["symbol", "timestamp"]).any() and not rows["conflict"].any()
    assert set(rows["gate_status"]) == {"passed"}
    for symbol in settings.data.symbols:
        stored = rows[(rows["symbol"] == symbol) & (rows["timestamp"] == FORMING)]
        assert len(stored) == 1, symbol
        values = stored.iloc[0][VALUES].astype(float)
        pd.testing.assert_series_equal(values, final_values(symbol, FORMING), check_names=False)
