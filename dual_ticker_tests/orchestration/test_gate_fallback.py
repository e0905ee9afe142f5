"""Issue 16's bad data from the primary, through the real graph on loopback: a window whose Alpha
Vantage delivery fails the gate lands from Yahoo (run metadata and raw_bars say so, the bad rows
are quarantined, rows stored before stay); both feeds bad blocks with both verdicts; repeated gate
failures of the primary switch the active feed once, with one alert."""

import dagster as dg
import pandas as pd
import pytest

from dual_ticker.clock import FixedClock
from dual_ticker.orchestration.sensors.alerts import AlertResource
from dual_ticker.orchestration.sensors.failover import feed_failover_sensor
from dual_ticker_tests.support.alpha_vantage_server import AlphaVantageSimulator
from dual_ticker_tests.support.pipeline import (
    check_evaluations,
    contract_rows,
    materialize,
    prod_settings_on,
    resources_for,
    scalar,
)
from dual_ticker_tests.support.quarantine import quarantined
from dual_ticker_tests.support.webhook_receiver import WebhookReceiver
from dual_ticker_tests.support.yahoo_server import YahooSimulator

SESSION = "2020-12-01"
NEW_YORK = "America/New_York"
BAD = pd.Timestamp(f"{SESSION} 09:50", tz=NEW_YORK)
OHLC = "check_raw_bars_ohlc"
FULL_GRAPH = ["raw_bars", "validated_bars", "features", "dual_ticker_bars"]


@pytest.fixture
def world(monkeypatch, test_home):
    monkeypatch.setenv("ALPHAVANTAGE_API_KEY", "GATE-FALLBACK-KEY")
    with AlphaVantageSimulator() as av, YahooSimulator() as yahoo, WebhookReceiver() as hook:
        settings = prod_settings_on(
            test_home,
            av,
            yahoo,
            retry_attempts=1,
            retry_delay=0.01,
            timeout_seconds=5,
            deadline_seconds=20,
            failover_after_failures=3,
            failback_after_probes=5,
            probe_interval_seconds=60,
        )
        yield settings, av, yahoo, hook


def _tick(database_url, settings, clock, instance, simulators, at):
    """One minute run at `at` (New York), the simulators' clocks with it."""
    clock.at = pd.Timestamp(at, tz=NEW_YORK).tz_convert("UTC")
    for simulator in simulators:
        simulator.set_now(clock.at)
    return materialize(
        database_url,
        settings,
        SESSION,
        as_of=clock.at.isoformat(),
        clock=clock,
        instance=instance,
        selection=FULL_GRAPH,
    )


def _raw_sources(database_url) -> pd.DataFrame:
    rows = scalar(
        database_url,
        """SELECT json_agg(json_build_array("timestamp", data_source, gate_status)
                           ORDER BY "timestamp", data_source)
           FROM raw_bars WHERE symbol = 'MSFT'""",
    )
    frame = pd.DataFrame(rows, columns=["timestamp", "data_source", "gate_status"])
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    return frame


def _raw_metadata(result) -> dict:
    materialization = result.asset_materializations_for_node("raw_bars")[0]  # one per partition
    return {key: value.value for key, value in materialization.metadata.items()}


def test_a_window_the_primary_delivers_bad_lands_from_yahoo(world, embedded_database):
    settings, av, yahoo, _ = world
    clock, instance = FixedClock(BAD), dg.DagsterInstance.ephemeral()
    first = _tick(embedded_database, settings, clock, instance, (av, yahoo), f"{SESSION} 09:40")
    assert first.success

    av.serve_bad_bar("MSFT", BAD)
    result = _tick(embedded_database, settings, clock, instance, (av, yahoo), f"{SESSION} 10:00")

    assert result.success
    window = pd.date_range(BAD - pd.Timedelta(minutes=10), periods=20, freq="1min")
    raw = _raw_sources(embedded_database).set_index("timestamp")
    utc = window.tz_convert("UTC")
    assert set(raw.loc[utc[0] : utc[-1], "data_source"]) == {"yahoo_finance"}
    assert set(raw.loc[: utc[0] - pd.Timedelta(minutes=1), "data_source"]) == {"alpha_vantage"}
    assert set(raw["gate_status"]) == {"passed"}
    contract = contract_rows(embedded_database)
    msft = contract[contract["symbol"] == "MSFT"].set_index("timestamp")
    assert len(msft) == 30  # 09:30-09:59: the bars stored by the first run stay
    assert set(msft.loc[utc[0] : utc[-1], "data_source"]) == {"yahoo_finance"}

    metadata = _raw_metadata(result)
    assert metadata["served_by_fallback"] == {SESSION: "yahoo_finance"}
    verdicts = metadata["gate_verdicts_by_source"][SESSION]
    assert verdicts["yahoo_finance"] == "passed"
    assert verdicts["alpha_vantage"].startswith("rejected: ohlc_violation")
    ohlc = check_evaluations(result)[OHLC]
    assert ohlc.passed
    by_source = ohlc.metadata["verdicts_by_source"].value
    assert by_source["yahoo_finance"] == "passed" and by_source["alpha_vantage"].startswith(
        "failed"
    )

    kept = pd.DataFrame(
        quarantined(embedded_database)
    )  # the rejected delivery, as delivered, with why
    assert set(kept["data_source"]) == {"alpha_vantage"} and set(kept["run_id"]) == {result.run_id}
    assert len(kept) == 2 * 20 and set(kept["check_name"]) == {OHLC}
    assert kept["reason"].str.contains("yahoo_finance served it").all()
    assert (
        scalar(
            embedded_database,
            "SELECT count(*) FROM quality_failures WHERE data_source = 'alpha_vantage'",
        )
        >= 1
    )


def test_both_feeds_bad_blocks_with_both_verdicts(world, embedded_database):
    settings, av, yahoo, _ = world
    clock, instance = FixedClock(BAD), dg.DagsterInstance.ephemeral()
    av.serve_bad_bar("MSFT", BAD)
    yahoo.serve_bad_bar("MSFT", BAD)

    result = _tick(embedded_database, settings, clock, instance, (av, yahoo), f"{SESSION} 10:00")

    assert not result.success
    ohlc = check_evaluations(result)[OHLC]
    assert not ohlc.passed
    by_source = ohlc.metadata["verdicts_by_source"].value
    assert set(by_source) == {"alpha_vantage", "yahoo_finance"}
    assert all(verdict.startswith("failed: 1 bar(s)") for verdict in by_source.values())
    verdicts = _raw_metadata(result)["gate_verdicts_by_source"][SESSION]
    assert all(v.startswith("rejected: ohlc_violation") for v in verdicts.values())
    assert not contract_rows(embedded_database).shape[0]  # nothing past the gate
    raw = _raw_sources(embedded_database)
    assert set(raw["data_source"]) == {"alpha_vantage"}  # as without a fallback: blocked
    assert set(raw["gate_status"]) == {"rejected"}
    assert {row["data_source"] for row in quarantined(embedded_database)} == {"yahoo_finance"}
    sources = scalar(
        embedded_database,
        "SELECT array_agg(DISTINCT data_source) FROM quality_failures WHERE check_name = %s",
        (OHLC,),
    )
    assert sorted(sources) == ["alpha_vantage", "yahoo_finance"]


def test_repeated_gate_failures_of_the_primary_switch_the_feed_once(world, embedded_database):
    settings, av, yahoo, hook = world
    clock, instance = FixedClock(BAD), dg.DagsterInstance.ephemeral()
    resources = resources_for(embedded_database, settings, clock)
    resources["alerts"] = AlertResource(
        webhook_url=hook.url_for("/hooks/alerts"), backoff_seconds=0.01
    )
    messages = []
    for minute in pd.date_range(f"{SESSION} 09:45", periods=3, freq="1min", tz=NEW_YORK):
        av.serve_bad_bar("MSFT", minute - pd.Timedelta(minutes=1))  # the newest bar is bad
        result = _tick(
            embedded_database, settings, clock, instance, (av, yahoo), str(minute.tz_localize(None))
        )
        assert result.success, minute  # Yahoo served each window the primary delivered bad
        with dg.build_sensor_context(resources=resources, instance=instance) as context:
            messages.append(feed_failover_sensor(context).skip_message)

    assert messages[0] == "active feed unchanged"  # one run: 2 rejected requests of 3 needed
    switches = [message for message in messages if "feed switch" in message]
    assert len(switches) == 1
    assert switches[0].startswith("feed switch #1: alpha_vantage -> yahoo_finance")
    assert "deliveries the gate rejected" in switches[0]
    assert scalar(embedded_database, "SELECT active_feed FROM feed_state") == "yahoo_finance"
    assert scalar(embedded_database, "SELECT count(*) FROM alerts WHERE kind = 'feed_switch'") == 1
    [post] = hook.wait_for(1)
    assert "feed_switch" in post["text"] and len(hook.delivered) == 1


def test_a_range_refetches_only_its_blocked_session_from_yahoo(world, embedded_database):
    settings, av, yahoo, _ = world
    settings = settings.model_copy(
        update={"data": settings.data.model_copy(update={"backfill_chunk_sessions": 1})}
    )
    after = pd.Timestamp(f"{SESSION} 16:05", tz=NEW_YORK).tz_convert("UTC")
    for simulator in (av, yahoo):
        simulator.set_now(after)
    av.serve_bad_bar("MSFT", BAD)

    result = materialize(
        embedded_database, settings, ("2020-11-30", SESSION), clock=FixedClock(after)
    )

    assert result.success
    sources = scalar(
        embedded_database,
        """SELECT json_object_agg(session, sources) FROM (
               SELECT session::text, array_agg(DISTINCT data_source) AS sources
               FROM raw_bars GROUP BY session) s""",
    )
    assert sources == {"2020-11-30": ["alpha_vantage"], SESSION: ["yahoo_finance"]}
    contract = contract_rows(embedded_database)
    days = contract["timestamp"].dt.tz_convert(NEW_YORK).dt.strftime("%Y-%m-%d")
    assert set(contract.loc[days == SESSION, "data_source"]) == {"yahoo_finance"}
    assert len(contract) == 2 * 2 * 390
    assert _raw_metadata(result)["served_by_fallback"] == {SESSION: "yahoo_finance"}
    assert {row["session"] for row in quarantined(embedded_database)} == {SESSION}


def test_a_session_blocked_on_both_lands_from_yahoo_once_yahoo_is_good(world, embedded_database):
    settings, av, yahoo, _ = world
    clock, instance = FixedClock(BAD), dg.DagsterInstance.ephemeral()
    av.serve_bad_bar("MSFT", BAD)
    yahoo.serve_bad_bar("MSFT", BAD)
    blocked = _tick(embedded_database, settings, clock, instance, (av, yahoo), f"{SESSION} 10:00")
    assert not blocked.success and not check_evaluations(blocked)[OHLC].passed

    yahoo.clear()  # Alpha Vantage still sends the bad bar; its rows stored by the blocked run
    result = _tick(embedded_database, settings, clock, instance, (av, yahoo), f"{SESSION} 10:01")

    assert result.success
    raw = _raw_sources(embedded_database)
    assert set(raw["data_source"]) == {"yahoo_finance"} and set(raw["gate_status"]) == {"passed"}
    assert len(contract_rows(embedded_database)) == 2 * 31
    kept = pd.DataFrame(quarantined(embedded_database))
    stored_before = kept[kept["run_id"] == blocked.run_id]
    assert set(stored_before["data_source"]) == {"alpha_vantage", "yahoo_finance"}
    assert (kept["data_source"] == "alpha_vantage").sum() == 2 * 30 + 2 * 31  # none lost


def test_a_chunk_lands_what_yahoo_serves_and_blocks_what_both_send_bad(world, embedded_database):
    settings, av, yahoo, _ = world
    earlier = BAD - pd.Timedelta(days=1)  # 2020-11-30, same minute
    after = pd.Timestamp(f"{SESSION} 16:05", tz=NEW_YORK).tz_convert("UTC")
    for simulator in (av, yahoo):
        simulator.set_now(after)
    av.rewrite_bodies(
        lambda symbol, body: (
            [av.swap_high_low(body, t) for t in (earlier, BAD)] if symbol == "MSFT" else None
        )
    )
    yahoo.serve_bad_bar("MSFT", earlier)

    result = materialize(
        embedded_database, settings, ("2020-11-30", SESSION), clock=FixedClock(after)
    )

    assert not result.success
    ohlc = check_evaluations(result)[OHLC]
    assert not ohlc.passed and ohlc.metadata["failing_sessions"].value == ["2020-11-30"]
    sources = scalar(
        embedded_database,
        """SELECT json_object_agg(session, sources) FROM (
               SELECT session::text, array_agg(DISTINCT data_source || ':' || gate_status)
                      AS sources FROM raw_bars GROUP BY session) s""",
    )
    assert sources == {
        "2020-11-30": ["alpha_vantage:rejected"],
        SESSION: ["yahoo_finance:passed"],
    }
    metadata = _raw_metadata(result)
    assert metadata["served_by_fallback"] == {SESSION: "yahoo_finance"}
    assert metadata["gate_verdicts_by_source"]["2020-11-30"]["yahoo_finance"].startswith("rejected")
