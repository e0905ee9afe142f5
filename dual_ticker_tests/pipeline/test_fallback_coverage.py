"""The gate-driven fallback refuses a delivery that passes the gate but lacks what the primary
delivered (a symbol, or minutes of a symbol): the session stays blocked on the primary's delivery,
nothing of the fallback lands, and the missing-data check's metadata says why the fallback was
refused. Through the real graph, with Alpha Vantage and Yahoo simulators on loopback; the session
has passed bars up to 15:00 and Alpha Vantage sends a high<low bar at 15:05 in the 15:10 run.

Checked against these breakages of dual_ticker/pipeline/fallback.py: the coverage test dropped
(`served` made of every passing session: both tests fail, the fallback lands), and its minute part
dropped (the lacking-minutes test fails). On the code before issue 27 the lacking-minutes
delivery was accepted (a minute the primary delivered was lost) and neither refusal was in the
check metadata: fallback.py was changed for both.
"""

import shutil

import dagster as dg
import pandas as pd
import pytest

from dual_ticker.clock import FixedClock
from dual_ticker_tests.support.alpha_vantage_server import AlphaVantageSimulator
from dual_ticker_tests.support.pipeline import (
    REPLAY_DIR,
    check_evaluations,
    materialize,
    prod_settings_on,
    recorded,
    scalar,
)
from dual_ticker_tests.support.quarantine import quarantined
from dual_ticker_tests.support.yahoo_server import YahooSimulator

SESSION = "2020-12-01"
NEW_YORK = "America/New_York"
BAD = pd.Timestamp(f"{SESSION} 15:05", tz=NEW_YORK)
LACKING_MINUTE = f"{SESSION} 15:03:00"
MISSING = "check_raw_bars_missing_data"


def _yahoo_recordings(folder, lacks: str):
    """Yahoo's recordings: without MSFT at all, or without MSFT's LACKING_MINUTE."""
    folder.mkdir()
    shutil.copy(REPLAY_DIR / "NVDA.csv", folder / "NVDA.csv")
    if lacks == "minutes":
        msft = recorded("MSFT")
        msft[msft["timestamp"] != LACKING_MINUTE].to_csv(folder / "MSFT.csv", index=False)
    return folder


def _tick(url, settings, clock, instance, simulators, at):
    clock.at = pd.Timestamp(at, tz=NEW_YORK).tz_convert("UTC")
    for simulator in simulators:
        simulator.set_now(clock.at)
    return materialize(
        url, settings, SESSION, as_of=clock.at.isoformat(), clock=clock, instance=instance
    )


@pytest.mark.parametrize(
    "lacks,why",
    [
        ("symbol", "lacks MSFT, which the first delivery had"),
        (
            "minutes",
            "lacks 1 minute(s) the first delivery had (the first: MSFT 2020-12-01 20:03:00+00:00)",
        ),
    ],
)
def test_a_passing_fallback_that_lacks_what_the_primary_sent_is_refused(
    lacks, why, monkeypatch, test_home, tmp_path, embedded_database
):
    monkeypatch.setenv("ALPHAVANTAGE_API_KEY", "COVERAGE-KEY")
    yahoo_dir = _yahoo_recordings(tmp_path / "yahoo", lacks)
    with AlphaVantageSimulator() as av, YahooSimulator(replay_dir=yahoo_dir) as yahoo:
        settings = prod_settings_on(
            test_home, av, yahoo, retry_attempts=1, retry_delay=0.01, timeout_seconds=5
        )
        clock, instance = FixedClock(BAD), dg.DagsterInstance.ephemeral()
        first = _tick(embedded_database, settings, clock, instance, (av, yahoo), f"{SESSION} 15:00")
        assert first.success
        av.serve_bad_bar("MSFT", BAD)
        result = _tick(
            embedded_database, settings, clock, instance, (av, yahoo), f"{SESSION} 15:10"
        )

    assert not result.success
    evaluations = check_evaluations(result)
    assert not evaluations["check_raw_bars_ohlc"].passed  # the primary's delivery, blocked
    by_source = evaluations[MISSING].metadata["verdicts_by_source"].value
    assert by_source["yahoo_finance"] == f"refused: yahoo_finance's delivery {why}"
    raw = scalar(
        embedded_database,
        """SELECT json_object_agg(s, n) FROM (SELECT data_source || ':' || gate_status AS s,
                  count(*) AS n FROM raw_bars GROUP BY 1) c""",
    )
    assert set(raw) == {"alpha_vantage:rejected"}  # nothing of Yahoo landed, nothing passed
    kept = pd.DataFrame(quarantined(embedded_database))
    assert set(kept["data_source"]) == {"yahoo_finance"}
    assert kept["reason"].str.contains(why, regex=False).all()
