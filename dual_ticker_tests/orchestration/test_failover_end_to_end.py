"""Issue 3's scenario on loopback: minute runs of a replayed session with Alpha Vantage failing for
ten consecutive minutes. Every minute lands (Yahoo during the outage, Alpha Vantage after), the
failover sensor switches away and back, and exactly two switch alerts reach the webhook."""

import logging

import dagster as dg
import pandas as pd
import pytest

from dual_ticker.clock import FixedClock
from dual_ticker.orchestration.sensors.alerts import AlertResource
from dual_ticker.orchestration.sensors.failover import feed_failover_sensor
from dual_ticker_tests.support.alpha_vantage_server import AlphaVantageSimulator
from dual_ticker_tests.support.pipeline import (
    contract_rows,
    materialize,
    prod_settings_on,
    resources_for,
    scalar,
)
from dual_ticker_tests.support.webhook_receiver import WebhookReceiver
from dual_ticker_tests.support.yahoo_server import YahooSimulator

CANARY = "CANARY-AV-KEY-7731"
SESSION = "2020-12-01"
OUTAGE = pd.date_range(f"{SESSION} 09:45", periods=10, freq="1min", tz="America/New_York")
TICKS = pd.date_range(f"{SESSION} 09:31", f"{SESSION} 10:15", freq="1min", tz="America/New_York")


@pytest.fixture
def world(monkeypatch, test_home, tmp_path):
    monkeypatch.setenv("ALPHAVANTAGE_API_KEY", CANARY)
    with AlphaVantageSimulator() as av, YahooSimulator() as yahoo, WebhookReceiver() as hook:
        settings = prod_settings_on(
            test_home,
            av,
            yahoo,
            retry_attempts=2,
            retry_delay=0.01,
            timeout_seconds=2,
            deadline_seconds=5,
            failover_after_failures=3,
            failback_after_probes=2,
            probe_interval_seconds=60,
        )
        yield settings, av, yahoo, hook


def test_outage_of_ten_minutes_fails_over_and_back_losing_nothing(world, embedded_database, caplog):
    settings, av, yahoo, hook = world
    caplog.set_level(logging.DEBUG)
    clock = FixedClock(TICKS[0])
    resources = resources_for(embedded_database, settings, clock)
    resources["alerts"] = AlertResource(
        webhook_url=hook.url_for("/hooks/alerts"), backoff_seconds=0.01
    )
    instance = dg.DagsterInstance.ephemeral()
    switches = []
    for tick in TICKS:
        clock.at = tick.tz_convert("UTC")
        for simulator in (av, yahoo):
            simulator.set_now(clock.at)
        av.set_mode("http_500" if tick in OUTAGE else None)
        result = materialize(
            embedded_database,
            settings,
            SESSION,
            as_of=tick.isoformat(),
            clock=clock,
            instance=instance,
            selection=["raw_bars", "validated_bars", "features", "dual_ticker_bars"],
        )
        assert result.success, tick
        with dg.build_sensor_context(resources=resources, instance=instance) as context:
            skip = feed_failover_sensor(context)
        if "feed switch" in skip.skip_message:
            switches.append((tick, skip.skip_message))

    rows = contract_rows(embedded_database)
    starts = pd.date_range(
        f"{SESSION} 09:30", f"{SESSION} 10:14", freq="1min", tz="America/New_York"
    )
    for symbol in ("NVDA", "MSFT"):
        own = rows[rows["symbol"] == symbol].set_index("timestamp")
        assert list(own.index) == list(starts.tz_convert("UTC")), symbol  # every minute, none twice
        sources = own["data_source"]
        assert set(sources[OUTAGE[0].tz_convert("UTC") : OUTAGE[-1].tz_convert("UTC")]) == {
            "yahoo_finance"
        }
        back = pd.Timestamp(switches[1][0]).tz_convert("UTC")
        assert set(sources[back:]) == {"alpha_vantage"}
        assert set(sources[: OUTAGE[0].tz_convert("UTC") - pd.Timedelta(minutes=2)]) == {
            "alpha_vantage"
        }

    assert [message.split(" (")[0] for _, message in switches] == [
        "feed switch #1: alpha_vantage -> yahoo_finance",
        "feed switch #2: yahoo_finance -> alpha_vantage",
    ]
    assert OUTAGE[0] < switches[0][0] <= OUTAGE[-1] < switches[1][0]
    delivered = hook.wait_for(2)
    assert len(delivered) == 2 and all("feed_switch" in post["text"] for post in delivered)
    assert scalar(embedded_database, "SELECT switches FROM feed_state") == 2
    assert scalar(embedded_database, "SELECT active_feed FROM feed_state") == "alpha_vantage"
    assert (
        scalar(
            embedded_database,
            "SELECT count(*) FROM feed_requests WHERE feed = 'alpha_vantage' AND outcome <> 'ok'",
        )
        >= 3
    )

    # The key went to the simulator, and nowhere else.
    assert all(r.params.get("apikey") == CANARY for r in av.data_requests())
    assert CANARY not in caplog.text
    assert not scalar(
        embedded_database,
        "SELECT count(*) FROM feed_requests WHERE detail LIKE %s",
        (f"%{CANARY}%",),
    )
    assert not scalar(
        embedded_database, "SELECT count(*) FROM alerts WHERE message LIKE %s", (f"%{CANARY}%",)
    )
    for run in instance.get_runs():
        assert CANARY not in str(run.run_config)
        for record in instance.all_logs(run.run_id):
            assert CANARY not in str(record.dagster_event or "") and CANARY not in (
                record.user_message or ""
            )
