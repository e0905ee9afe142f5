"""One price basis across NVDA's 10:1 split of 2024-06-10, through the asset graph on loopback
(support/splits.py): both simulators serve their provider's basis, Alpha Vantage per `adjusted=`,
Yahoo split-adjusted."""

import dagster as dg
import pandas as pd
import pytest

from dual_ticker.clock import FixedClock
from dual_ticker_tests.support.alpha_vantage_server import AlphaVantageSimulator
from dual_ticker_tests.support.pipeline import (
    check_evaluations,
    materialize,
    prod_settings_on,
    scalar,
)
from dual_ticker_tests.support.splits import (
    AFTER_SPLIT,
    BEFORE,
    BEFORE_SPLIT,
    RATIO,
    SPLIT_DAY,
    write_split_replay,
)
from dual_ticker_tests.support.yahoo_server import YahooSimulator

CANARY = "CANARY-AV-KEY-5512"
MARKET_DATA = ["raw_bars", "validated_bars", "features", "dual_ticker_bars"]


@pytest.fixture
def world(monkeypatch, test_home, tmp_path):
    monkeypatch.setenv("ALPHAVANTAGE_API_KEY", CANARY)
    replay = write_split_replay(tmp_path / "replay")
    with AlphaVantageSimulator(replay) as av, YahooSimulator(replay) as yahoo:
        for simulator in (av, yahoo):
            simulator.add_split("NVDA", SPLIT_DAY, RATIO)
        settings = prod_settings_on(
            test_home,
            av,
            yahoo,
            retry_attempts=1,
            timeout_seconds=5,
            deadline_seconds=10,
        )
        yield settings, av, yahoo


def at(moment: pd.Timestamp, *simulators) -> FixedClock:
    for simulator in simulators:
        simulator.set_now(moment)
    return FixedClock(moment)


def run(database, settings, session, clock, as_of=None, selection=MARKET_DATA):
    return materialize(
        database,
        settings,
        session,
        as_of=as_of,
        clock=clock,
        instance=dg.DagsterInstance.ephemeral(),
        selection=selection,
    )


def nvda_closes(database: str, session: str, source: str) -> list[float]:
    return [
        float(close)
        for close in scalar(
            database,
            "SELECT coalesce(array_agg(close ORDER BY timestamp), '{}') FROM raw_bars "
            "WHERE symbol = 'NVDA' AND session = %s AND data_source = %s",
            (session, source),
        )
    ]


def with_basis(settings, basis: str, fallback: str | None = "yahoo_finance"):
    feeds = settings.feeds.model_copy(update={"price_basis": basis, "fallback": fallback})
    return settings.model_copy(update={"feeds": feeds})


def test_a_pre_split_session_served_half_by_each_feed_after_the_split_is_on_one_basis(
    world, embedded_database
):
    settings, av, yahoo = world
    clock = at(AFTER_SPLIT, av, yahoo)
    morning = run(
        embedded_database, settings, BEFORE, clock, f"{BEFORE}T12:00:00-04:00", ["raw_bars"]
    )
    assert morning.success
    av.set_mode("http_500")  # the afternoon comes from Yahoo
    result = run(embedded_database, settings, BEFORE, clock, f"{BEFORE}T16:00:00-04:00")
    assert result.success
    checks = check_evaluations(result)
    assert checks["check_raw_bars_price_jump"].passed
    from_av = nvda_closes(embedded_database, BEFORE, "alpha_vantage")
    from_yahoo = nvda_closes(embedded_database, BEFORE, "yahoo_finance")
    assert len(from_av) == 150 and len(from_yahoo) == 240
    assert max(from_av + from_yahoo) < 200  # both split-adjusted (as traded: above 1,000)
    assert all(r.params["adjusted"] == "true" for r in av.data_requests())


def test_a_real_jump_in_a_session_served_by_both_feeds_still_blocks(world, embedded_database):
    settings, av, yahoo = world
    clock = at(AFTER_SPLIT, av, yahoo)
    assert run(
        embedded_database, settings, BEFORE, clock, f"{BEFORE}T12:00:00-04:00", ["raw_bars"]
    ).success
    av.set_mode("http_500")

    def jump(symbol, body):  # NVDA 25 % higher from 14:00 on, in Yahoo's half
        if symbol != "NVDA":
            return
        result = body["chart"]["result"][0]
        quote = result["indicators"]["quote"][0]
        start = pd.Timestamp(f"{BEFORE} 14:00", tz="America/New_York").timestamp()
        for i, stamp in enumerate(result["timestamp"]):
            for name in ("open", "high", "low", "close"):
                if stamp >= start and quote[name][i] is not None:
                    quote[name][i] *= 1.25

    yahoo.rewrite_bodies(jump)
    result = run(embedded_database, settings, BEFORE, clock, f"{BEFORE}T16:00:00-04:00")
    evaluation = check_evaluations(result)["check_raw_bars_price_jump"]
    assert not evaluation.passed
    assert evaluation.metadata["largest_move"].value > 0.2


def test_raw_basis_stores_prices_as_traded_and_the_split_day_names_the_split(
    world, embedded_database
):
    settings, av, yahoo = world
    settings = with_basis(settings, "raw", fallback=None)
    clock = at(AFTER_SPLIT, av, yahoo)
    before = run(embedded_database, settings, BEFORE, clock)
    assert before.success
    assert min(nvda_closes(embedded_database, BEFORE, "alpha_vantage")) > 1000  # as traded
    assert all(r.params["adjusted"] == "false" for r in av.data_requests())

    result = run(embedded_database, settings, SPLIT_DAY, clock)
    checks = check_evaluations(result)
    assert checks["check_raw_bars_price_jump"].passed  # the split falls overnight: no jump
    bounds = checks["check_features_indicator_bounds"]
    assert not bounds.passed
    assert "10:1 split?" in bounds.description and "price_basis raw" in bounds.description
    assert "\n" not in bounds.description
    assert scalar(embedded_database, "SELECT count(*) FROM dual_ticker_bars") == 780  # 06-07 only


def test_history_stored_before_the_split_blocks_the_split_day_until_fetched_again(
    world, embedded_database
):
    settings, av, yahoo = world
    live = at(BEFORE_SPLIT, av, yahoo)  # the split not yet known
    assert run(embedded_database, settings, BEFORE, live).success
    assert min(nvda_closes(embedded_database, BEFORE, "alpha_vantage")) > 1000

    clock = at(AFTER_SPLIT, av, yahoo)
    result = run(embedded_database, settings, SPLIT_DAY, clock)
    bounds = check_evaluations(result)["check_features_indicator_bounds"]
    assert not bounds.passed
    assert "10:1 split?" in bounds.description
    assert f"bars before {SPLIT_DAY} were stored on the pre-split scale" in bounds.description
    assert bounds.metadata["suspected_splits"].value[0]["symbol"] == "NVDA"

    # What OPERATIONS.md says to do: drop the stale session's raw rows, run the range again.
    scalar(
        embedded_database,
        "WITH gone AS (DELETE FROM raw_bars WHERE session = %s AND symbol = 'NVDA' RETURNING 1) "
        "SELECT count(*) FROM gone",
        (BEFORE,),
    )
    again = run(embedded_database, settings, (BEFORE, SPLIT_DAY), clock)
    assert again.success
    assert max(nvda_closes(embedded_database, BEFORE, "alpha_vantage")) < 200
    assert check_evaluations(again)["check_features_indicator_bounds"].passed
