"""Indicator math on its own: TA-Lib semantics, warm-up continuity, VWAP, time of day, no lookahead."""

import numpy as np
import pandas as pd
import pytest
import talib

from dual_ticker.features.indicators import (
    FEATURE_COLUMNS,
    compute_features,
    session_vwap,
    time_features,
)


def _bars(symbol: str, start: str, periods: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    stamps = pd.date_range(start, periods=periods, freq="1min", tz="America/New_York").tz_convert(
        "UTC"
    )
    close = np.round(100 * np.exp(np.cumsum(rng.normal(0, 0.001, periods))), 4)
    open_ = np.round(np.concatenate([[close[0]], close[:-1]]), 4)
    return pd.DataFrame(
        {
            "symbol": symbol,
            "timestamp": stamps,
            "open": open_,
            "high": np.maximum(open_, close) + 0.01,
            "low": np.minimum(open_, close) - 0.01,
            "close": close,
            "volume": rng.integers(100, 10_000, periods),
            "data_source": "replay",
        }
    )


def test_feature_order_is_the_contract():
    assert FEATURE_COLUMNS == [
        "open",
        "high",
        "low",
        "close",
        "volume",
        "rsi",
        "ema_short",
        "ema_long",
        "vwap",
        "hour_sin",
        "hour_cos",
        "minute_sin",
        "minute_cos",
    ]


def test_rsi_and_emas_equal_talib_and_warmup_from_history_converges():
    full = _bars("NVDA", "2020-12-01 09:30", 1200, seed=1)
    reference = {
        "rsi": talib.RSI(full["close"].to_numpy(), 14),
        "ema_short": talib.EMA(full["close"].to_numpy(), 12),
        "ema_long": talib.EMA(full["close"].to_numpy(), 26),
    }
    whole = compute_features(full.iloc[0:0], full)
    for column, expected in reference.items():
        np.testing.assert_allclose(whole[column], expected, rtol=0, atol=1e-9, equal_nan=True)
    # A later piece computed from only its 400 preceding bars matches the full-history values.
    history, piece = full.iloc[400:800], full.iloc[800:]
    warmed = compute_features(history, piece)
    for column, expected in reference.items():
        np.testing.assert_allclose(warmed[column], expected[800:], rtol=0, atol=1e-9)
    assert whole["rsi"].isna().sum() == 14 and whole["ema_long"].isna().sum() == 25


def test_vwap_is_session_anchored_on_typical_price():
    bars = pd.concat(
        [_bars("MSFT", "2020-12-01 09:30", 30, 2), _bars("MSFT", "2020-12-02 09:30", 30, 3)]
    )
    vwap = session_vwap(bars.reset_index(drop=True))
    for _day, own in bars.reset_index(drop=True).groupby(
        bars["timestamp"].dt.tz_convert("America/New_York").dt.date.to_numpy()
    ):
        typical = (own["high"] + own["low"] + own["close"]) / 3
        expected = (typical * own["volume"]).cumsum() / own["volume"].cumsum()
        np.testing.assert_allclose(vwap[own.index], expected, rtol=1e-12)
        assert vwap[own.index[0]] == pytest.approx(typical.iloc[0])  # restarts at each open


@pytest.mark.parametrize(
    "day", ["2020-10-30", "2020-11-02", "2021-03-12", "2021-03-15"]
)  # both sides of DST
@pytest.mark.parametrize(
    "clock,hour,minute", [("09:30", 9, 30), ("12:00", 12, 0), ("15:59", 15, 59)]
)
def test_time_features_use_new_york_wall_time(day, clock, hour, minute):
    stamp = pd.Timestamp(f"{day} {clock}", tz="America/New_York").tz_convert("UTC")
    features = time_features(pd.Series([stamp])).iloc[0]
    assert features["hour_sin"] == pytest.approx(np.sin(2 * np.pi * hour / 24), abs=1e-12)
    assert features["hour_cos"] == pytest.approx(np.cos(2 * np.pi * hour / 24), abs=1e-12)
    assert features["minute_sin"] == pytest.approx(np.sin(2 * np.pi * minute / 60), abs=1e-12)
    assert features["minute_cos"] == pytest.approx(np.cos(2 * np.pi * minute / 60), abs=1e-12)


def test_no_lookahead_removing_later_bars_changes_nothing_before():
    bars = pd.concat(
        [_bars("NVDA", "2020-12-01 09:30", 300, 4), _bars("MSFT", "2020-12-01 09:30", 300, 5)],
        ignore_index=True,
    )
    full = compute_features(bars.iloc[0:0], bars)
    cut = pd.Timestamp("2020-12-01 11:00", tz="America/New_York").tz_convert("UTC")
    truncated = compute_features(bars.iloc[0:0], bars[bars["timestamp"] <= cut])
    kept = full[full["timestamp"] <= cut].reset_index(drop=True)
    pd.testing.assert_frame_equal(kept[FEATURE_COLUMNS], truncated[FEATURE_COLUMNS])
