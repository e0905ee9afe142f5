"""Details of the gate's rules that the pass/fail tests leave open: what the freshness rule says
and records (a symbol without bars, a delayed feed, a fresh session), the edges of the trading day,
a symbol with no bar at all and a run at the open for the missing-data rule, and that a clash
leaves one bar per minute in the delivery.

Written for mutants of dual_ticker/quality/rules.py that survived the first `make mutation` run
(docs/MUTATION.md); each test fails on the mutants named in its docstring.
"""

import pandas as pd

from dual_ticker.calendar.nyse import session_label
from dual_ticker.calendar.windows import session_window
from dual_ticker.quality.rules import (
    MissingLimits,
    check_freshness,
    check_missing,
    check_timestamps,
    delivery_conflicts,
)
from dual_ticker_tests.quality.sessions import valid_session

DAY = "2020-12-01"
NEW_YORK = "America/New_York"
AS_OF = pd.Timestamp(f"{DAY} 12:00", tz=NEW_YORK).tz_convert("UTC")
CHECK = "check_raw_bars_freshness"


def _fresh_rows() -> pd.DataFrame:
    rows = valid_session(DAY, 60)
    return rows[rows["timestamp"] < AS_OF].assign(session=DAY)


def _windows():
    window = session_window(session_label(DAY), AS_OF)
    return {window.key: window}


def test_fresh_bars_pass_with_their_lags_and_limits_recorded():
    """Mutants: the default delay of 0 made 1, the outcome's reason, text and metadata keys."""
    outcome = check_freshness(_fresh_rows(), _windows(), ["NVDA", "MSFT"], 5, CHECK)[DAY]
    assert outcome.passed and outcome.severity == "WARN"
    assert (outcome.reason, outcome.description) == ("timestamp", "latest bars fresh")
    assert outcome.metadata == {
        "lag_seconds": {"NVDA": 0.0, "MSFT": 0.0},
        "max_staleness_minutes": 5,
        "delay_minutes": 0,
    }


def test_a_symbol_without_bars_is_named_missing_and_a_delayed_feed_says_so():
    """Mutants: `lag is None` tests inverted or short-circuited, the 'missing' text changed, the
    delayed-entitlement text emptied, an empty frame grouped anyway."""
    rows = _fresh_rows()
    outcome = check_freshness(
        rows[rows["symbol"] == "NVDA"], _windows(), ["NVDA", "MSFT"], 5, CHECK
    )[DAY]
    assert not outcome.passed
    assert outcome.description == f"MSFT latest bar missing at {AS_OF}"
    assert outcome.metadata["lag_seconds"] == {"NVDA": 0.0, "MSFT": None}

    nothing = check_freshness(rows.iloc[0:0], _windows(), ["NVDA"], 5, CHECK, delay_minutes=15)[DAY]
    assert nothing.description == (
        f"delayed entitlement: bars arrive 15 min late (live data ends at {AS_OF}, 15 min before "
        f"the tick); NVDA latest bar missing at {AS_OF}"
    )
    assert nothing.metadata["delay_minutes"] == 15


def test_the_trading_day_runs_from_04_00_to_20_00_new_york():
    """Mutants: the minute of the day computed with 61 minutes an hour, 4 * 60 as 4 / 60, 20:00
    let through (`>` or 20 * 61), the failing rows or their count dropped or renamed, the
    outcome's reason and text of a clean day."""
    stamps = ["03:59", "04:00", "19:59", "20:00"]
    rows = pd.concat([valid_session(DAY, 61).iloc[[0]]] * 4, ignore_index=True).assign(
        timestamp=[pd.Timestamp(f"{DAY} {t}", tz=NEW_YORK).tz_convert("UTC") for t in stamps],
        session=DAY,
    )
    outcome = check_timestamps(rows, rows.iloc[0:0], [DAY], "check_raw_bars_timestamps")[DAY]
    assert outcome.description == "2 bar(s) outside 04:00-20:00 New York (wrong time zone?)"
    assert outcome.reason == "timestamp" and outcome.metadata["failing_count"] == 2
    flagged = {row["timestamp"] for row in outcome.metadata["failing_rows"]}
    assert flagged == {str(rows.loc[0, "timestamp"]), str(rows.loc[3, "timestamp"])}
    clean = check_timestamps(rows.iloc[1:3], rows.iloc[0:0], [DAY], "check_raw_bars_timestamps")
    assert clean[DAY].passed
    assert clean[DAY].description == "timestamps on the minute grid, one bar per minute"
    assert clean[DAY].metadata == {"failing_count": 0, "failing_rows": []}


LIMITS = MissingLimits(warn=0.02, fail=0.05, fallback_fail=0.10, min_expected_bars=120)


def test_a_symbol_with_no_bar_is_wholly_missing_and_nothing_is_missing_at_the_open():
    """Mutants: the count of a symbol without bars taken as None or 1 instead of 0; a window with
    no expected minute yet (as_of at the open) judged wholly missing; the ratio's rounding, the
    outcome's reason, text and metadata keys."""
    rows = _fresh_rows()
    nvda_only = rows[rows["symbol"] == "NVDA"].iloc[1:]  # one of 150 minutes absent
    outcome = check_missing(nvda_only, _windows(), ["NVDA", "MSFT"], LIMITS, set(), "m")[DAY]
    assert outcome.blocks and outcome.reason == "missing_data"
    assert outcome.metadata == {
        "missing_ratio": {"NVDA": 0.006667, "MSFT": 1.0},
        "expected_minutes": 150,
        "warn_threshold": 0.02,
        "fail_threshold": 0.05,
        "fallback_fail_threshold": 0.10,
    }
    opened = session_window(session_label(DAY), AS_OF).opened
    at_open = {DAY: session_window(session_label(DAY), opened)}
    outcome = check_missing(rows.iloc[0:0], at_open, ["NVDA", "MSFT"], LIMITS, set(), "m")[DAY]
    assert outcome.passed and outcome.metadata["missing_ratio"] == {"NVDA": 0.0, "MSFT": 0.0}
    assert outcome.description == "every symbol within the missing-data limits"


def test_a_clash_leaves_one_bar_per_minute_in_the_delivery():
    """Mutants: the final drop of duplicates by key made a drop of exact repeats only."""
    rows = valid_session(DAY, 62).drop(columns="conflict")
    twin = rows.iloc[[7]].assign(close=rows.loc[7, "close"] + 0.01)
    clean, clashes = delivery_conflicts(pd.concat([rows, twin], ignore_index=True))
    assert len(clashes) == 2
    assert len(clean) == len(rows)
    assert not clean.duplicated(["symbol", "timestamp", "data_source"]).any()
