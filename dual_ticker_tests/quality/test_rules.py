"""Each rule with a passing and a failing batch; the metadata says what failed and where."""

import numpy as np
import pandas as pd
import pytest

from dual_ticker.calendar.nyse import session_close, session_label
from dual_ticker.quality.gate import features_outcomes
from dual_ticker.quality.rules import delivery_conflicts
from dual_ticker_tests.quality.sessions import gate_settings, raw_bars_outcomes, valid_session

DAY = "2020-12-01"
SESSION = session_label(DAY)
CLOSE = session_close(DAY)
EMPTY = valid_session(DAY, 0).iloc[0:0]


def outcomes(rows, clashes=EMPTY, as_of=CLOSE, env="ci", live=False, order=("replay",)):
    results = raw_bars_outcomes(
        rows, clashes, SESSION, as_of, gate_settings(env), list(order), live
    )
    return {o.check_name: o for o in results}


def failed(results):
    return {name: o for name, o in results.items() if not o.passed}


def test_a_clean_session_passes_every_rule():
    results = outcomes(valid_session(DAY, 1))
    assert failed(results) == {}
    assert results["check_raw_bars_missing_data"].metadata["missing_ratio"] == {
        "NVDA": 0.0,
        "MSFT": 0.0,
    }


def test_ohlc_high_below_low_fails_with_the_row():
    rows = valid_session(DAY, 2)
    rows.loc[10, ["high", "low"]] = [rows.loc[10, "low"] - 1, rows.loc[10, "high"] + 1]
    result = failed(outcomes(rows))["check_raw_bars_ohlc"]
    assert result.severity == "ERROR" and result.reason == "ohlc_violation"
    assert result.metadata["failing_count"] == 1
    assert result.metadata["failing_rows"][0]["timestamp"] == str(rows.loc[10, "timestamp"])


@pytest.mark.parametrize(
    "column,value", [("open", -1.0), ("close", 0.0), ("high", np.inf), ("low", np.nan)]
)
def test_prices_must_be_positive_and_finite(column, value):
    rows = valid_session(DAY, 3)
    rows.loc[20, column] = value
    assert "check_raw_bars_ohlc" in failed(outcomes(rows))


def test_missing_ratio_warns_then_fails_at_the_thresholds():
    rows = valid_session(DAY, 4)
    nvda = rows.index[rows["symbol"] == "NVDA"]
    warn = failed(outcomes(rows.drop(nvda[100:112])))[
        "check_raw_bars_missing_data"
    ]  # 12/390 = 3.1%
    assert warn.severity == "WARN" and "NVDA missing 3.08%" in warn.description
    fail = failed(outcomes(rows.drop(nvda[100:125])))[
        "check_raw_bars_missing_data"
    ]  # 25/390 = 6.4%
    assert fail.severity == "ERROR" and fail.blocks
    assert fail.metadata["missing_ratio"]["NVDA"] == pytest.approx(25 / 390, abs=1e-6)
    assert fail.metadata["fail_threshold"] == 0.05


def test_live_profile_is_stricter_and_fallback_data_has_its_own_threshold():
    rows = valid_session(DAY, 5)
    msft = rows.index[rows["symbol"] == "MSFT"]
    thinned = rows.drop(msft[50:56])  # 6/390 = 1.5%
    assert "check_raw_bars_missing_data" not in failed(outcomes(thinned, env="ci"))
    assert failed(outcomes(thinned, env="prod"))["check_raw_bars_missing_data"].blocks
    fallback = valid_session(DAY, 5, source="yahoo_finance")
    fallback = fallback.drop(fallback.index[(fallback["symbol"] == "MSFT")][50:80])  # 7.7%
    results = outcomes(fallback, env="prod", order=("alpha_vantage", "yahoo_finance"))
    assert "check_raw_bars_missing_data" not in {n for n, o in failed(results).items() if o.blocks}
    heavy = fallback.drop(fallback.index[(fallback["symbol"] == "MSFT")][80:130])  # ~20%
    assert failed(outcomes(heavy, env="prod", order=("alpha_vantage", "yahoo_finance")))[
        "check_raw_bars_missing_data"
    ].blocks


def test_early_session_rule_one_missing_minute_does_not_block():
    rows = valid_session(DAY, 6)
    rows = rows.drop(rows.index[(rows["symbol"] == "NVDA")][0])  # 09:30 absent
    as_of = pd.Timestamp("2020-12-01 09:32", tz="America/New_York").tz_convert("UTC")
    for env in ("ci", "prod"):
        assert not [o for o in failed(outcomes(rows, as_of=as_of, env=env)).values() if o.blocks]


def test_volume_rules():
    rows = valid_session(DAY, 7)
    negative = rows.copy()
    negative.loc[5, "volume"] = -10
    assert failed(outcomes(negative))["check_raw_bars_volume"].blocks
    zeros = rows.copy()
    zeros.loc[: len(rows) * 0.6, "volume"] = 0
    assert failed(outcomes(zeros))["check_raw_bars_volume"].blocks
    spike = rows.copy()
    spike.loc[40, "volume"] = int(rows["volume"].median() * 1000)
    result = failed(outcomes(spike))["check_raw_bars_volume"]
    assert result.severity == "WARN" and not result.blocks and "above 200x" in result.description


def test_price_jump_within_a_session_fails():
    rows = valid_session(DAY, 8)
    rows.loc[200, ["open", "high", "low", "close"]] = (
        rows.loc[200, ["open", "high", "low", "close"]] * 1.3
    )
    rows.loc[200, "low"] = rows.loc[200, ["open", "close"]].min()
    result = failed(outcomes(rows))["check_raw_bars_price_jump"]
    assert result.blocks and result.metadata["largest_move"] > 0.2


def test_timestamp_rules():
    rows = valid_session(DAY, 9)
    off_grid = rows.copy()
    off_grid.loc[3, "timestamp"] += pd.Timedelta(seconds=30)
    assert (
        "off the 1-minute grid"
        in failed(outcomes(off_grid))["check_raw_bars_timestamps"].description
    )
    wrong_day = pd.concat(
        [rows, rows.iloc[[0]].assign(timestamp=rows.loc[0, "timestamp"] + pd.Timedelta(days=1))]
    )
    assert (
        "dated off session" in failed(outcomes(wrong_day))["check_raw_bars_timestamps"].description
    )
    shifted = rows.assign(
        timestamp=rows["timestamp"] + pd.Timedelta(hours=5)
    )  # UTC read as New York
    assert (
        "outside 04:00-20:00" in failed(outcomes(shifted))["check_raw_bars_timestamps"].description
    )


def test_a_minute_delivered_twice_differently_blocks_an_exact_repeat_does_not():
    rows = valid_session(DAY, 10)
    repeated = pd.concat([rows, rows.iloc[[7]]], ignore_index=True)
    clean, clashes = delivery_conflicts(repeated.drop(columns="conflict"))
    assert clashes.empty and len(clean) == len(rows)
    different = pd.concat(
        [rows, rows.iloc[[7]].assign(close=rows.loc[7, "close"] + 0.01)], ignore_index=True
    )
    clean, clashes = delivery_conflicts(different.drop(columns="conflict"))
    assert len(clashes) == 2
    result = failed(outcomes(clean.assign(conflict=False), clashes))["check_raw_bars_timestamps"]
    assert "1 minute(s) delivered twice with different values" in result.description


def test_newest_first_order_is_normalised_not_judged():
    rows = valid_session(DAY, 11)
    assert failed(outcomes(rows.iloc[::-1].reset_index(drop=True))) == {}


def test_freshness_is_judged_in_live_runs_only_and_only_warns():
    rows = valid_session(DAY, 12)
    as_of = pd.Timestamp("2020-12-01 12:00", tz="America/New_York").tz_convert("UTC")
    stale = rows[rows["timestamp"] < as_of - pd.Timedelta(minutes=30)]
    results = outcomes(stale, as_of=as_of, live=True)
    assert (
        results["check_raw_bars_freshness"].severity == "WARN"
        and not results["check_raw_bars_freshness"].passed
    )
    assert outcomes(stale, as_of=as_of, live=False)["check_raw_bars_freshness"].passed


def _features(rows):
    from dual_ticker.features.indicators import compute_features

    return compute_features(rows.iloc[0:0], rows.drop(columns="conflict"))


def test_indicator_bounds_pass_and_fail():
    featured = _features(valid_session(DAY, 13))
    assert features_outcomes(featured, gate_settings())[0].passed
    broken = featured.copy()
    broken.loc[100, "rsi"] = 140.0
    assert "out of bounds" in features_outcomes(broken, gate_settings())[0].description
    nan = featured.copy()
    nan.loc[200, "ema_long"] = np.nan
    assert (
        "NaN indicators past the warm-up" in features_outcomes(nan, gate_settings())[0].description
    )
    far = featured.copy()
    far.loc[300, "vwap"] = featured["close"].max() * 3
    assert "vwap value(s) outside" in features_outcomes(far, gate_settings())[0].description
