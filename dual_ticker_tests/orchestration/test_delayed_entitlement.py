"""A delayed Alpha Vantage key through the real asset graph: the simulator serves nothing newer
than 15 minutes; minute runs do not block or fail over, their freshness check WARNs with the
reason, each bar lands 15 minutes after it ends, and the minute runs go on until 16:15 New York
so the session's last bars land too."""

import dagster as dg
import pandas as pd
import pytest
from dagster._utils.schedules import schedule_execution_time_iterator

from dual_ticker.calendar.as_of import AS_OF_TAG
from dual_ticker.clock import FixedClock
from dual_ticker.orchestration.resources import DatabaseResource, FeedResource
from dual_ticker.orchestration.schedules import build_minute_schedule, minute_request
from dual_ticker.orchestration.sensors.failover import probe
from dual_ticker_tests.support.alpha_vantage_server import AlphaVantageSimulator
from dual_ticker_tests.support.pipeline import (
    check_evaluations,
    contract_rows,
    materialize,
    prod_settings_on,
    scalar,
)
from dual_ticker_tests.support.yahoo_server import YahooSimulator

CANARY = "CANARY-AV-KEY-1615"
SESSION = "2020-12-01"
NEW_YORK = "America/New_York"
TICKS = pd.date_range(f"{SESSION} 10:00", periods=3, freq="1min", tz=NEW_YORK).tz_convert("UTC")
RUNS_AFTER_TICK = pd.Timedelta(seconds=20)
REASON = "delayed entitlement: bars arrive 15 min late"
GRAPH = ["raw_bars", "validated_bars", "features", "dual_ticker_bars"]


def new_york(text: str) -> pd.Timestamp:
    return pd.Timestamp(f"{SESSION} {text}", tz=NEW_YORK)


@pytest.fixture
def world(monkeypatch, test_home):
    """Production settings with a delayed key (Yahoo as the fallback, as in prod.yaml)."""
    monkeypatch.setenv("ALPHAVANTAGE_API_KEY", CANARY)
    with AlphaVantageSimulator() as av, YahooSimulator() as yahoo:
        settings = prod_settings_on(
            test_home,
            av,
            yahoo,
            entitlement="delayed",
            retry_attempts=2,
            retry_delay=0.01,
        )
        yield settings, av, yahoo


def run_tick(database_url, settings, simulators, tick, instance):
    moment = tick + RUNS_AFTER_TICK
    for simulator in simulators:
        simulator.set_now(moment)
    return materialize(
        database_url,
        settings,
        SESSION,
        as_of=tick.isoformat(),
        clock=FixedClock(moment),
        instance=instance,
        selection=GRAPH,
    )


def latest_raw_bar(database_url: str, symbol: str) -> pd.Timestamp:
    return pd.Timestamp(
        scalar(
            database_url,
            """SELECT max("timestamp") FROM raw_bars WHERE symbol = %s""",
            (symbol,),
        )
    )


def test_minute_runs_of_a_delayed_key_warn_and_land_bars_15_minutes_late(world, embedded_database):
    settings, av, yahoo = world
    instance = dg.DagsterInstance.ephemeral()
    for tick in TICKS:
        result = run_tick(embedded_database, settings, (av, yahoo), tick, instance)
        assert result.success, tick
        freshness = check_evaluations(result)["check_raw_bars_freshness"]
        assert not freshness.passed and freshness.severity == dg.AssetCheckSeverity.WARN
        assert REASON in freshness.description
        for symbol in settings.data.symbols:
            # The bar ending 15 minutes before the tick is the newest: it arrived just now.
            assert latest_raw_bar(embedded_database, symbol) == tick - pd.Timedelta(minutes=16)

    assert (
        scalar(embedded_database, "SELECT count(*) FROM feed_requests WHERE outcome <> 'ok'") == 0
    )
    assert not yahoo.data_requests()  # nothing failed over
    assert all(r.params["entitlement"] == "delayed" for r in av.data_requests())
    rows = contract_rows(embedded_database)
    assert set(rows["data_source"]) == {"alpha_vantage"}
    assert rows["timestamp"].max() == TICKS[-1] - pd.Timedelta(minutes=16)


def test_a_delayed_key_runs_until_16_15_and_lands_the_sessions_last_bars(world, embedded_database):
    settings, av, yahoo = world
    delay = settings.feeds.delay_minutes
    assert delay == 15
    schedule = build_minute_schedule(delay_minutes=delay)
    day = new_york("00:00")
    ticks = []
    for tick in schedule_execution_time_iterator(
        day.timestamp(), schedule.cron_schedule, schedule.execution_timezone
    ):
        if tick >= (day + pd.Timedelta(days=1)).to_pydatetime():
            break
        ticks.append(pd.Timestamp(tick))
    requests = (minute_request(t, delay_minutes=delay) for t in ticks)
    runs = [r for r in requests if isinstance(r, dg.RunRequest)]
    assert len(runs) == 390  # one per bar, each 15 minutes after it ends
    first, last = (pd.Timestamp(run.tags[AS_OF_TAG]) for run in (runs[0], runs[-1]))
    assert (first, last) == (new_york("09:46"), new_york("16:15"))
    assert isinstance(minute_request(new_york("16:16"), delay_minutes=delay), dg.SkipReason)

    result = run_tick(embedded_database, settings, (av, yahoo), last.tz_convert("UTC"), None)
    assert result.success
    rows = contract_rows(embedded_database)
    for symbol in settings.data.symbols:
        own = rows[rows["symbol"] == symbol]
        assert own["timestamp"].max() == new_york("15:59").tz_convert("UTC"), symbol


def test_the_failover_probe_of_a_delayed_key_finds_it_healthy(world, embedded_database):
    """While failed over, the sensor probes the primary: a delayed key's latest bars are 15
    minutes old by design, so the probe asks for those and the system can switch back."""
    settings, av, yahoo = world
    moment = TICKS[0] + RUNS_AFTER_TICK
    av.set_now(moment)
    clock = FixedClock(moment)
    feeds = FeedResource(
        primary="alpha_vantage",
        fallback="yahoo_finance",
        replay_dir=str(settings.replay_dir),
        alphavantage_api_key=CANARY,
    )
    database = DatabaseResource(url=embedded_database, home=str(settings.home))
    assert probe(feeds, settings, clock, database)
    assert (
        scalar(embedded_database, "SELECT count(*) FROM feed_requests WHERE outcome <> 'ok'") == 0
    )
