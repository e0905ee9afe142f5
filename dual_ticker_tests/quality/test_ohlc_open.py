"""The open outside its bar's range: an open above the high or below the low blocks
`check_raw_bars_ohlc`, for a bar alone, inside a whole session, and through the real graph, where
the row is held in `raw_bars` as delivered, rejected with the reason, and nothing of the session
gets past the gate.

Checked against the breakages of issue 27 in dual_ticker/quality/schemas.py, each failing these
tests: `high >= max(open, close)` weakened to `high >= close` (open above high passes), and
`low <= min(open, close)` weakened to `low <= close` (open below low passes).
"""

import pandas as pd
import pytest

from dual_ticker.calendar.nyse import session_close, session_label
from dual_ticker.quality.rules import check_ohlc
from dual_ticker_tests.quality.sessions import gate_settings, raw_bars_outcomes, valid_session
from dual_ticker_tests.support.pipeline import (
    check_evaluations,
    materialize,
    recorded,
    scalar,
    write_replay,
)
from dual_ticker_tests.support.quarantine import failure_total, later_rows

DAY = "2020-12-01"
CHECK = "check_raw_bars_ohlc"
# (how the open leaves the range, the pandera check that names it)
OPEN_OUTSIDE = {
    "open_above_high": ("high", 1.001, "high_ge_open_close"),
    "open_below_low": ("low", 0.999, "low_le_open_close"),
}


def _open_outside(rows: pd.DataFrame, row: int, kind: str) -> pd.DataFrame:
    """The bar with its open just outside the range; high, low and close left consistent."""
    bound, factor, _ = OPEN_OUTSIDE[kind]
    rows = rows.copy()
    rows.loc[row, "open"] = round(rows.loc[row, bound] * factor, 4)
    assert rows.loc[row, "low"] <= rows.loc[row, "close"] <= rows.loc[row, "high"]
    return rows


@pytest.mark.parametrize("kind", list(OPEN_OUTSIDE))
def test_an_open_outside_the_range_alone_fails_the_ohlc_rule(kind):
    bar = _open_outside(valid_session(DAY, 30).iloc[[40]].reset_index(drop=True), 0, kind)
    outcome = check_ohlc(bar.assign(session=DAY), [DAY], CHECK)[DAY]
    assert not outcome.passed and outcome.blocks
    assert outcome.metadata["rules"] == [OPEN_OUTSIDE[kind][2]]
    assert outcome.metadata["failing_count"] == 1
    assert outcome.metadata["failing_rows"][0]["open"] == bar.loc[0, "open"]


@pytest.mark.parametrize("kind", list(OPEN_OUTSIDE))
def test_an_open_outside_the_range_in_a_session_blocks_at_the_ohlc_check(kind):
    rows = _open_outside(valid_session(DAY, 31), 123, kind)
    outcomes = raw_bars_outcomes(
        rows, rows.iloc[0:0], session_label(DAY), session_close(DAY), gate_settings(), ["replay"]
    )
    blocking = {o.check_name: o for o in outcomes if o.blocks}
    assert list(blocking) == [CHECK]
    ohlc = blocking[CHECK]
    assert ohlc.severity == "ERROR" and ohlc.reason == "ohlc_violation"
    assert ohlc.metadata["failing_count"] == 1
    assert ohlc.metadata["failing_rows"][0]["timestamp"] == str(rows.loc[123, "timestamp"])
    assert OPEN_OUTSIDE[kind][2] in ohlc.description


@pytest.mark.parametrize("kind", list(OPEN_OUTSIDE))
def test_an_open_outside_the_range_blocks_the_run_and_the_row_is_held_rejected(
    kind, embedded_database, settings, tmp_path
):
    frames = {symbol: recorded(symbol) for symbol in ("NVDA", "MSFT")}
    msft = frames["MSFT"]
    row = msft.index[msft["timestamp"] == f"{DAY} 12:45:00"][0]
    frames["MSFT"] = _open_outside(msft, row, kind)
    bad_open = frames["MSFT"].loc[row, "open"]
    replay = write_replay(tmp_path / kind, frames)

    result = materialize(embedded_database, settings, DAY, replay_dir=replay)

    assert not result.success
    ohlc = check_evaluations(result)[CHECK]
    assert not ohlc.passed and ohlc.severity.value == "ERROR"
    assert ohlc.metadata["rules"].value == [OPEN_OUTSIDE[kind][2]]
    assert ohlc.metadata["failing_count"].value == 1
    assert (
        f"| MSFT | 2020-12-01 17:45:00+00:00 | {bad_open} |" in ohlc.metadata["failing_rows"].md_str
    )
    held = scalar(
        embedded_database,
        """SELECT json_build_array(open::float8, gate_status, gate_run_id, gate_reason)
           FROM raw_bars WHERE symbol = 'MSFT'
             AND "timestamp" = %s::timestamp AT TIME ZONE 'America/New_York'""",
        (f"{DAY} 12:45:00",),
    )
    assert held[:3] == [bad_open, "rejected", result.run_id]
    assert held[3].startswith("ohlc_violation: 1 bar(s) break OHLC rules")
    assert failure_total(embedded_database, "ohlc_violation") == 1
    assert later_rows(embedded_database, DAY) == {
        "passed_raw_bars": 0,
        "staged_features": 0,
        "dual_ticker_bars": 0,
    }
