"""The coarser bars (dual_ticker_bars_5m, _15m, _1h, _1d) equal the same aggregation computed in
pandas from dual_ticker_bars, after a backfill and after live minute runs, on every server: the
continuous aggregates of TimescaleDB (refreshed for what each run wrote, real-time for the newest
bucket) and the plain views of PostgreSQL."""

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from dual_ticker.clock import FixedClock
from dual_ticker.storage import coarse_bars, timescale
from dual_ticker.storage.database import connect
from dual_ticker_tests.support.pipeline import contract_rows, materialize

GRAPH = ["raw_bars", "validated_bars", "features", "dual_ticker_bars"]
WIDTHS = {
    "dual_ticker_bars_5m": "5min",
    "dual_ticker_bars_15m": "15min",
    "dual_ticker_bars_1h": "1h",
    "dual_ticker_bars_1d": "1D",
}


def expected(contract: pd.DataFrame, level: str) -> pd.DataFrame:
    """The level's bars from the 1-minute contract, in pandas: buckets labelled by their start
    (a New York day for _1d), open first, high max, low min, close last, volume sum, VWAP of the
    typical price."""
    bars = contract.sort_values(["symbol", "timestamp"]).copy()
    for column in ("open", "high", "low", "close"):
        bars[column] = bars[column].astype(float)
    if level.endswith("_1d"):
        local = bars["timestamp"].dt.tz_convert("America/New_York")
        bars["bucket"] = local.dt.normalize().dt.tz_convert("UTC")
    else:
        bars["bucket"] = bars["timestamp"].dt.floor(WIDTHS[level])
    bars["pv"] = (bars["high"] + bars["low"] + bars["close"]) / 3 * bars["volume"]
    grouped = bars.groupby(["symbol", "bucket"])
    frame = grouped.agg(
        open=("open", "first"),
        high=("high", "max"),
        low=("low", "min"),
        close=("close", "last"),
        volume=("volume", "sum"),
        pv=("pv", "sum"),
        bars=("open", "size"),
    ).reset_index()
    frame["vwap"] = frame["pv"] / frame["volume"].replace(0, np.nan)
    return frame[["bucket", "symbol", "open", "high", "low", "close", "volume", "vwap", "bars"]]


def assert_levels_match(database_url: str) -> None:
    contract = contract_rows(database_url)
    assert len(contract) > 0
    start = contract["timestamp"].min() - pd.Timedelta(days=2)
    end = contract["timestamp"].max() + pd.Timedelta(days=2)
    connection = connect(database_url)
    try:
        for level in coarse_bars.LEVELS:
            stored = coarse_bars.read(connection, level, start, end)
            want = expected(contract, level)
            stored = stored.sort_values(["symbol", "bucket"]).reset_index(drop=True)
            want = want.sort_values(["symbol", "bucket"]).reset_index(drop=True)
            assert len(stored) == len(want), level
            assert (stored["bucket"] == want["bucket"]).all(), level
            assert (stored["symbol"] == want["symbol"]).all(), level
            for column in ("open", "high", "low", "close", "vwap"):
                np.testing.assert_allclose(
                    stored[column].astype(float), want[column], rtol=1e-9, err_msg=level
                )
            assert (stored["volume"].astype(int) == want["volume"].astype(int)).all(), level
            assert (stored["bars"].astype(int) == want["bars"].astype(int)).all(), level
    finally:
        connection.close()


def assert_materialized_levels_match(database_url: str) -> None:
    """As assert_levels_match, and on TimescaleDB also with real-time reads switched off: what the
    runs' refreshes materialized is the whole contract (no bucket left to the read-through)."""
    assert_levels_match(database_url)
    connection = connect(database_url)
    connection.autocommit = True
    try:
        if not timescale.enabled(connection):
            return
        with connection.cursor() as cursor:
            for level in coarse_bars.LEVELS:
                cursor.execute(
                    f"ALTER MATERIALIZED VIEW {level} SET (timescaledb.materialized_only = true)"
                )
        assert_levels_match(database_url)
        with connection.cursor() as cursor:
            for level in coarse_bars.LEVELS:
                cursor.execute(
                    f"ALTER MATERIALIZED VIEW {level} SET (timescaledb.materialized_only = false)"
                )
    finally:
        connection.close()


def test_every_level_equals_pandas_after_a_backfill(database_url, settings):
    result = materialize(database_url, settings, ("2020-11-30", "2020-12-02"), selection=GRAPH)
    assert result.success
    assert_materialized_levels_match(database_url)


@pytest.mark.parametrize("ticks", [["10:07", "10:13", "11:02"]])
def test_every_level_equals_pandas_after_live_minute_runs(database_url, settings, ticks):
    """Each minute run adds bars to the newest (open) buckets of every level; after each, every
    level holds exactly what the contract does (TimescaleDB: refreshed, real-time)."""
    assert materialize(database_url, settings, "2020-11-30", selection=GRAPH).success
    instance = dg.DagsterInstance.ephemeral()
    for tick in ticks:
        moment = pd.Timestamp(f"2020-12-01 {tick}", tz="America/New_York")
        result = materialize(
            database_url,
            settings,
            "2020-12-01",
            as_of=moment.isoformat(),
            clock=FixedClock(moment.tz_convert("UTC")),
            instance=instance,
            selection=GRAPH,
        )
        assert result.success
        assert_materialized_levels_match(database_url)
