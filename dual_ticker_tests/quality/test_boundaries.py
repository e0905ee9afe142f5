"""The gate's thresholds on their edges, read from config/data_quality.yaml: a missing ratio exactly
at the warn limit passes, exactly at the fail limit warns, one bar beyond blocks; the same on the
early-session minimum denominator; the live freshness lag exactly at its limit passes and one
minute beyond warns, measured from the bar's end.

Checked against these breakages of dual_ticker/quality/rules.py, each failing a test here:
`ratio > fail_at` as `>=` (the fail limit blocks), `ratio > limits.warn` as `>=` (the warn limit
warns), the denominator `max(expected, min_expected_bars)` as `expected` (early-session minimum
ignored), and the freshness lag measured from the bar's start or refused at exactly the limit.
"""

import pandas as pd
import pytest

from dual_ticker.calendar.nyse import session_label
from dual_ticker_tests.quality.sessions import gate_settings, raw_bars_outcomes, valid_session

DAY = "2020-12-01"
MISSING = "check_raw_bars_missing_data"
FRESHNESS = "check_raw_bars_freshness"
OPEN = pd.Timestamp(f"{DAY} 09:30", tz="America/New_York").tz_convert("UTC")
# As of 12:50 New York, 200 calendar minutes are expected: each limit is a whole number of bars.
EXPECTED = 200
# validation profile: (config using it, feed order, the source of the bars)
PROFILES = {
    "standard": ("ci", ["replay"], "replay"),
    "live": ("prod", ["alpha_vantage", "yahoo_finance"], "alpha_vantage"),
}


def _missing(env, order, source, absent: int, as_of: pd.Timestamp):
    """The missing-data outcome with `absent` of NVDA's minutes before as_of dropped."""
    settings = gate_settings(env)
    rows = valid_session(DAY, 40, source=source)
    nvda = rows.index[(rows["symbol"] == "NVDA") & (rows["timestamp"] < as_of)]
    rows = rows.drop(nvda[10 : 10 + absent])
    outcomes = raw_bars_outcomes(rows, rows.iloc[0:0], session_label(DAY), as_of, settings, order)
    return {o.check_name: o for o in outcomes}[MISSING]


def _bars_at(ratio: float, expected: int) -> int:
    bars = ratio * expected
    assert bars == round(bars), (ratio, expected)  # the limit must fall on a whole bar
    return round(bars)


@pytest.mark.parametrize("profile", list(PROFILES))
def test_missing_ratio_exactly_at_each_limit_and_one_bar_beyond(profile):
    env, order, source = PROFILES[profile]
    assert gate_settings(env).validation_profile == profile
    warn, fail = gate_settings(env).missing_ratio_limits
    as_of = OPEN + pd.Timedelta(minutes=EXPECTED)

    at_warn = _missing(env, order, source, _bars_at(warn, EXPECTED), as_of)
    assert at_warn.passed, at_warn.description
    beyond_warn = _missing(env, order, source, _bars_at(warn, EXPECTED) + 1, as_of)
    assert not beyond_warn.passed and beyond_warn.severity == "WARN"

    at_fail = _missing(env, order, source, _bars_at(fail, EXPECTED), as_of)
    assert not at_fail.passed and at_fail.severity == "WARN" and not at_fail.blocks
    assert at_fail.metadata["missing_ratio"]["NVDA"] == fail
    beyond_fail = _missing(env, order, source, _bars_at(fail, EXPECTED) + 1, as_of)
    assert beyond_fail.blocks, beyond_fail.description


def test_the_fallback_limit_exactly_and_one_bar_beyond():
    """Bars served by the fallback feed have their own limit (missing_ratio_fallback)."""
    env, order = "prod", ["alpha_vantage", "yahoo_finance"]
    limit = gate_settings(env).validation.missing_ratio_fallback
    as_of = OPEN + pd.Timedelta(minutes=EXPECTED)
    at = _missing(env, order, "yahoo_finance", _bars_at(limit, EXPECTED), as_of)
    assert not at.blocks and at.metadata["missing_ratio"]["NVDA"] == limit
    beyond = _missing(env, order, "yahoo_finance", _bars_at(limit, EXPECTED) + 1, as_of)
    assert beyond.blocks


def test_early_session_minimum_exactly_at_the_fail_limit_and_one_bar_beyond():
    """At 10:00 only 30 minutes are expected: the ratio's denominator is min_expected_bars (120 in
    the YAML), so 6 bars absent are exactly 5% (warn) and 7 block."""
    settings = gate_settings("ci")
    minimum = settings.validation.min_expected_bars
    _, fail = settings.missing_ratio_limits
    as_of = OPEN + pd.Timedelta(minutes=30)
    absent = _bars_at(fail, minimum)
    assert absent < 30 < minimum  # the rule, not the plain ratio, decides here

    at = _missing("ci", ["replay"], "replay", absent, as_of)
    assert not at.blocks and at.severity == "WARN"
    assert at.metadata["missing_ratio"]["NVDA"] == fail
    beyond = _missing("ci", ["replay"], "replay", absent + 1, as_of)
    assert beyond.blocks, beyond.description


def _freshness(latest_start: pd.Timestamp, as_of: pd.Timestamp):
    rows = valid_session(DAY, 41)
    rows = rows[rows["timestamp"] <= latest_start]
    outcomes = raw_bars_outcomes(
        rows, rows.iloc[0:0], session_label(DAY), as_of, gate_settings("ci"), ["replay"], live=True
    )
    return {o.check_name: o for o in outcomes}[FRESHNESS]


def test_freshness_lag_exactly_at_the_limit_passes_one_minute_beyond_warns():
    limit = pd.Timedelta(minutes=gate_settings("ci").validation.max_staleness_minutes)
    last = OPEN + pd.Timedelta(minutes=100)  # the latest bar ends a minute later
    at = _freshness(last, last + pd.Timedelta(minutes=1) + limit)
    assert at.passed, at.description
    assert at.metadata["lag_seconds"] == {
        "NVDA": limit.total_seconds(),
        "MSFT": limit.total_seconds(),
    }
    beyond = _freshness(last, last + pd.Timedelta(minutes=2) + limit)
    assert not beyond.passed and beyond.severity == "WARN"
