"""dual_ticker_bars as the model reads it: TA-Lib equality over stored history, VWAP, the
observation contract (names, order, 28 values, never NaN), live equals backfill."""

import numpy as np
import pandas as pd
import pytest
import talib

from dual_ticker.calendar.nyse import sessions_between
from dual_ticker.features.indicators import FEATURE_COLUMNS
from dual_ticker.features.observation import (
    OBSERVATION_KEYS,
    OBSERVATION_SIZE,
    ObservationError,
    build_observation,
    build_observations,
)
from dual_ticker.settings import load_settings
from dual_ticker.storage.database import connect
from dual_ticker.storage.migrations import apply_migrations
from dual_ticker_tests.support.databases import admin_url, fresh_database
from dual_ticker_tests.support.pipeline import contract_rows, materialize

MONTH = [str(day.date()) for day in sessions_between("2020-11-23", "2020-12-18")]


@pytest.fixture(scope="module")
def month(test_home):
    """The replay month materialized session by session: each run warms up from stored history."""
    settings = load_settings({"DUAL_TICKER_HOME": str(test_home)})
    with fresh_database(admin_url("embedded", test_home)) as url:
        apply_migrations(url)
        for session in MONTH:
            assert materialize(url, settings, session).success, session
        yield url


def test_the_month_is_stored_in_full(month):
    rows = contract_rows(month)
    assert len(MONTH) == 19
    assert len(rows) == 2 * (18 * 390 + 210)


def test_stored_indicators_equal_talib_over_the_full_stored_history(month):
    rows = contract_rows(month)
    for symbol, own in rows.groupby("symbol"):
        close = own["close"].astype("float64").to_numpy()
        for column, expected in (
            ("rsi", talib.RSI(close, 14)),
            ("ema_short", talib.EMA(close, 12)),
            ("ema_long", talib.EMA(close, 26)),
        ):
            stored = own[column].astype("float64").to_numpy()
            np.testing.assert_allclose(
                stored, expected, rtol=0, atol=1e-9, equal_nan=True, err_msg=f"{symbol} {column}"
            )
        assert (
            own["rsi"].isna().sum() == 14 and own["ema_long"].isna().sum() == 25
        )  # start of history only


def test_stored_vwap_equals_a_direct_computation(month):
    rows = contract_rows(month)
    rows[["high", "low", "close"]] = rows[["high", "low", "close"]].astype("float64")
    day = rows["timestamp"].dt.tz_convert("America/New_York").dt.date
    typical = (rows["high"] + rows["low"] + rows["close"]) / 3
    weighted = (typical * rows["volume"]).groupby([rows["symbol"], day]).cumsum()
    expected = weighted / rows["volume"].groupby([rows["symbol"], day]).cumsum()
    np.testing.assert_allclose(rows["vwap"].astype("float64"), expected, rtol=1e-12)


def test_observation_contract_names_order_and_size(month):
    connection = connect(month)
    try:
        observation = build_observation(connection, "2020-12-01T12:00:00-05:00", 1, 5)
    finally:
        connection.close()
    as_dict = observation.as_dict()
    assert tuple(as_dict) == OBSERVATION_KEYS == ("nvda_features", "msft_features", "positions")
    assert [len(as_dict[k]) for k in OBSERVATION_KEYS] == [13, 13, 2]
    vector = observation.vector()
    assert vector.shape == (OBSERVATION_SIZE,) == (28,)
    assert not np.isnan(vector).any()
    rows = contract_rows(month)
    latest = rows[rows["timestamp"] == pd.Timestamp("2020-12-01 16:59", tz="UTC")].set_index(
        "symbol"
    )
    assert as_dict["nvda_features"] == [float(latest.loc["NVDA", c]) for c in FEATURE_COLUMNS]
    assert as_dict["msft_features"] == [float(latest.loc["MSFT", c]) for c in FEATURE_COLUMNS]
    assert as_dict["positions"] == [0.0, 0.0]


def test_observation_errors_are_clear_not_nan(month):
    connection = connect(month)
    try:
        with pytest.raises(ObservationError, match="stale"):
            build_observation(
                connection, "2020-11-26T12:00:00-05:00", 1, 5
            )  # Thanksgiving: no bars
        with pytest.raises(ObservationError, match="rsi, ema_short, ema_long undefined"):
            build_observation(connection, "2020-11-23T09:35:00-05:00", 1, 5)  # start of history
        with pytest.raises(ObservationError, match="no complete bar"):
            build_observation(connection, "2020-11-20T12:00:00-05:00", 1, 5)
    finally:
        connection.close()


def test_batch_observations_over_the_month_have_no_nan_and_skip_only_warmup(month):
    connection = connect(month)
    try:
        batch = build_observations(
            connection, "2020-11-23T09:31:00-05:00", "2020-12-18T16:00:00-05:00", 1, 5
        )
    finally:
        connection.close()
    assert batch.values.shape == (len(batch.times), 28)
    assert not np.isnan(batch.values).any()
    assert len(batch.times) + len(batch.skipped) == 18 * 390 + 210
    first_session = pd.Timestamp("2020-11-23 09:30", tz="America/New_York").tz_convert("UTC")
    assert (batch.skipped["time"] <= first_session + pd.Timedelta(minutes=26)).all()
    assert len(batch.skipped) == 25 and batch.skipped["reason"].str.contains("warm-up").all()
    # The batch form equals the live form at the same time (positions flat in both).
    connection = connect(month)
    try:
        at = pd.Timestamp("2020-12-10 14:07", tz="America/New_York").tz_convert("UTC")
        live = build_observation(connection, at, 1, 5).vector()
    finally:
        connection.close()
    np.testing.assert_array_equal(batch.values[batch.times.get_loc(at)], live)


def test_live_minute_by_minute_equals_a_backfill_of_the_same_session(
    embedded_database, test_home, settings
):
    """Ticks every minute at the open, then sparser (as if ticks were missed and caught up)."""
    ticks = list(
        pd.date_range("2020-11-24 09:31", "2020-11-24 10:00", freq="1min", tz="America/New_York")
    )
    ticks += list(
        pd.date_range("2020-11-24 10:13", "2020-11-24 16:00", freq="37min", tz="America/New_York")
    )
    ticks.append(pd.Timestamp("2020-11-24 16:00", tz="America/New_York"))
    assert materialize(embedded_database, settings, "2020-11-23").success
    for tick in ticks:
        assert materialize(
            embedded_database, settings, "2020-11-24", as_of=tick.isoformat()
        ).success, tick
    live = contract_rows(embedded_database)

    with fresh_database(admin_url("embedded", test_home)) as other:
        apply_migrations(other)
        assert materialize(other, settings, ("2020-11-23", "2020-11-24")).success
        backfill = contract_rows(other)
    assert len(live) == 2 * 2 * 390
    pd.testing.assert_frame_equal(
        live.drop(columns="created_at"), backfill.drop(columns="created_at")
    )
