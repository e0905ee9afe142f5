"""Property tests: generated valid sessions always pass; each kind of corruption always fails
the rule it breaks, as a blocking ERROR; each of the four ways a bar's open or close can leave
its range always blocks the OHLC rule.

The four relations were checked against issue 27's breakages of quality/schemas.py: with
`high >= max(open, close)` weakened to `high >= close`, open_above_high fails; with
`low <= min(open, close)` weakened to `low <= close`, open_below_low fails.
"""

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dual_ticker.calendar.nyse import session_close, session_label
from dual_ticker.quality.rules import delivery_conflicts
from dual_ticker_tests.quality.sessions import gate_settings, raw_bars_outcomes, valid_session

DAYS = [
    "2020-11-24",
    "2020-11-27",
    "2021-03-12",
    "2021-03-15",
    "2019-07-03",
]  # early closes, DST edges
SETTINGS = gate_settings("ci")
PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def evaluate(rows, day, clashes=None):
    clashes = rows.iloc[0:0] if clashes is None else clashes
    results = raw_bars_outcomes(
        rows, clashes, session_label(day), session_close(day), SETTINGS, ["replay"]
    )
    return {o.check_name: o for o in results if o.blocks}


@PROPERTY
@given(day=st.sampled_from(DAYS), seed=st.integers(0, 2**32 - 1), newest_first=st.booleans())
def test_valid_sessions_always_pass(day, seed, newest_first):
    rows = valid_session(day, seed)
    if newest_first:
        rows = rows.iloc[::-1].reset_index(drop=True)
    assert evaluate(rows, day) == {}


# A bar's open or close just outside its range: (column moved, bound crossed, factor, nudge).
OUTSIDE_RANGE = {
    "open_above_high": ("open", "high", 1.001, 0.01),
    "open_below_low": ("open", "low", 0.999, -0.01),
    "close_above_high": ("close", "high", 1.001, 0.01),
    "close_below_low": ("close", "low", 0.999, -0.01),
}


def _corrupt(kind, rows, rng, day):
    i = int(rng.integers(1, len(rows) // 2 - 1))
    if kind == "high_below_low":
        rows.loc[i, "high"] = rows.loc[i, "low"] - 0.01
    elif kind in OUTSIDE_RANGE:
        column, bound, factor, nudge = OUTSIDE_RANGE[kind]
        rows.loc[i, column] = rows.loc[i, bound] * factor + nudge
    elif kind == "non_positive_price":
        rows.loc[i, str(rng.choice(["open", "high", "low", "close"]))] = -abs(rows.loc[i, "close"])
    elif kind == "nan_price":
        rows.loc[i, str(rng.choice(["open", "high", "low", "close"]))] = np.nan
    elif kind == "negative_volume":
        rows.loc[i, "volume"] = -int(rng.integers(1, 1000))
    elif kind == "missing_minutes":
        symbol_rows = rows.index[rows["symbol"] == str(rng.choice(["NVDA", "MSFT"]))]
        share = rng.uniform(0.06, 0.5)
        drop = rng.choice(symbol_rows, size=int(np.ceil(share * len(symbol_rows))), replace=False)
        rows = rows.drop(drop)
    elif kind == "price_jump":
        factor = float(rng.uniform(1.25, 3.0))
        rows.loc[i, ["open", "high", "low", "close"]] = (
            rows.loc[i, ["open", "high", "low", "close"]] * factor
        )
    elif kind == "off_grid":
        rows.loc[i, "timestamp"] += pd.Timedelta(seconds=int(rng.integers(1, 59)))
    elif kind == "wrong_day":
        rows.loc[i, "timestamp"] += pd.Timedelta(days=int(rng.integers(1, 5)))
    elif kind == "conflicting_duplicate":
        twin = rows.iloc[[i]].assign(
            close=rows.loc[i, "close"] + 0.05, high=rows.loc[i, "high"] + 0.05
        )
        clean, clashes = delivery_conflicts(
            pd.concat([rows, twin], ignore_index=True).drop(columns="conflict")
        )
        return clean.assign(conflict=False), clashes
    return rows, None


EXPECTED = {
    "high_below_low": "check_raw_bars_ohlc",
    **{kind: "check_raw_bars_ohlc" for kind in OUTSIDE_RANGE},
    "non_positive_price": "check_raw_bars_ohlc",
    "nan_price": "check_raw_bars_ohlc",
    "negative_volume": "check_raw_bars_volume",
    "missing_minutes": "check_raw_bars_missing_data",
    "price_jump": "check_raw_bars_price_jump",
    "off_grid": "check_raw_bars_timestamps",
    "wrong_day": "check_raw_bars_timestamps",
    "conflicting_duplicate": "check_raw_bars_timestamps",
}


@PROPERTY
@given(
    day=st.sampled_from(DAYS),
    seed=st.integers(0, 2**32 - 1),
    kind=st.sampled_from(sorted(EXPECTED)),
)
def test_each_corruption_always_fails_its_rule(day, seed, kind):
    rows, clashes = _corrupt(kind, valid_session(day, seed), np.random.default_rng(seed), day)
    blocking = evaluate(rows.reset_index(drop=True), day, clashes)
    assert EXPECTED[kind] in blocking, (kind, {n: o.description for n, o in blocking.items()})


@pytest.mark.parametrize("kind", sorted(OUTSIDE_RANGE))
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(day=st.sampled_from(DAYS), seed=st.integers(0, 2**32 - 1))
def test_an_open_or_close_outside_the_range_always_blocks_ohlc(kind, day, seed):
    """Each relation drawn on its own, so none is left to the sampling of the test above."""
    rows, _ = _corrupt(kind, valid_session(day, seed), np.random.default_rng(seed), day)
    blocking = evaluate(rows.reset_index(drop=True), day)
    assert "check_raw_bars_ohlc" in blocking, kind
