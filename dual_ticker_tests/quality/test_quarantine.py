"""Malformed rows in a replayed delivery, through the real graph: each is quarantined as delivered
with the run and why, the run stops at the named blocking check, the reason is counted once, and
nothing of the session gets past the gate."""

import pandas as pd
import pytest

from dual_ticker_tests.support.pipeline import (
    check_evaluations,
    materialize,
    recorded,
    write_replay,
)
from dual_ticker_tests.support.quarantine import (
    CHECK_REASONS,
    failure_total,
    later_rows,
    quarantined,
)

SESSION = "2020-12-01"
MINUTE = f"{SESSION} 12:45:00"  # the row of the issue: 215.32,215.32,215.15,<close>,53606

# (column, value written in MSFT.csv at MINUTE, the check that blocks, the quarantine reason)
KINDS = {
    "empty_close": ("close", "", "check_raw_bars_ohlc", "close is not a number"),
    "null_close": ("close", "NULL", "check_raw_bars_ohlc", "close is not a number"),
    "nan_close": ("close", "NaN", "check_raw_bars_ohlc", "close is not a number"),
    "text_open": ("open", "215,32", "check_raw_bars_ohlc", "open is not a number"),
    "minus_inf_low": ("low", "-inf", "check_raw_bars_ohlc", "low is infinite"),
    "inf_high": ("high", "inf", "check_raw_bars_ohlc", "high is infinite"),
    "absurd_close": ("close", "2e9", "check_raw_bars_ohlc", "close is absurd (>= 1e+08)"),
    "empty_volume": ("volume", "", "check_raw_bars_volume", "volume is not a number"),
    "text_volume": ("volume", "53.6k", "check_raw_bars_volume", "volume is not a number"),
    "fractional_volume": (
        "volume",
        "53606.5",
        "check_raw_bars_volume",
        "volume is not a whole number",
    ),
    "absurd_volume": ("volume", "1e15", "check_raw_bars_volume", "volume is absurd (>= 1e+12)"),
    "unreadable_time": (
        "timestamp",
        f"{SESSION} 25:61:00",
        "check_raw_bars_timestamps",
        "time unreadable",
    ),
    "night_time": (
        "timestamp",
        f"{SESSION} 02:45:00",
        "check_raw_bars_timestamps",
        "time outside 04:00-20:00 New York",
    ),
    "off_grid_time": (
        "timestamp",
        f"{SESSION} 12:45:30",
        "check_raw_bars_timestamps",
        "time off the 1-minute grid",
    ),
}


def _replay(tmp_path, name, edit) -> str:
    frames = {symbol: recorded(symbol).astype(str) for symbol in ("NVDA", "MSFT")}
    frames["MSFT"] = edit(frames["MSFT"])
    return write_replay(tmp_path / name, frames)


def _at(frame: pd.DataFrame, moment: str) -> int:
    return frame.index[frame["timestamp"] == moment][0]


def _assert_blocked_and_counted(url, result, check, session=SESSION):
    assert not result.success
    failed = {name: e for name, e in check_evaluations(result).items() if not e.passed}
    assert check in failed and failed[check].severity.value == "ERROR", failed
    assert failed[check].metadata["quarantined_count"].value >= 1
    assert failure_total(url, CHECK_REASONS[check]) == 1
    assert later_rows(url, session) == {
        "passed_raw_bars": 0,
        "staged_features": 0,
        "dual_ticker_bars": 0,
    }


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_malformed_row_is_quarantined_and_blocks_its_check(
    kind, embedded_database, settings, tmp_path
):
    column, value, check, reason = KINDS[kind]

    def edit(msft):
        msft.loc[_at(msft, MINUTE), column] = value
        return msft

    assert failure_total(embedded_database, CHECK_REASONS[check]) == 0
    result = materialize(
        embedded_database, settings, SESSION, replay_dir=_replay(tmp_path, kind, edit)
    )

    _assert_blocked_and_counted(embedded_database, result, check)
    [row] = quarantined(embedded_database)
    assert row["run_id"] == result.run_id and row["session"] == SESSION
    assert (row["symbol"], row["data_source"]) == ("MSFT", "replay")
    assert (row["check_name"], row["reason"]) == (check, reason)
    as_written = value if column != "timestamp" else None
    if as_written is not None and kind not in ("absurd_close", "absurd_volume"):
        assert row["delivered"][column] == as_written  # as delivered, text and all
    if kind == "unreadable_time":
        assert row["timestamp"] is None and row["delivered"]["timestamp"] == value


def test_two_versions_of_a_minute_are_both_quarantined_and_clash_at_timestamps(
    embedded_database, settings, tmp_path
):
    def edit(msft):
        row = _at(msft, MINUTE)
        twin = msft.loc[[row]].assign(close="215.20")
        return pd.concat([msft.loc[:row], twin, msft.loc[row + 1 :]], ignore_index=True)

    result = materialize(
        embedded_database, settings, SESSION, replay_dir=_replay(tmp_path, "clash", edit)
    )

    assert not result.success
    timestamps = check_evaluations(result)["check_raw_bars_timestamps"]
    assert not timestamps.passed and "delivered twice with different values" in (
        timestamps.description
    )
    assert failure_total(embedded_database, "timestamp") == 1
    rows = quarantined(embedded_database)
    assert sorted(row["delivered"]["close"] for row in rows) == [215.15, 215.2]
    assert {(r["run_id"], r["reason"]) for r in rows} == {
        (result.run_id, "delivered twice with different values")
    }
    assert later_rows(embedded_database, SESSION)["dual_ticker_bars"] == 0


def test_a_bar_dated_on_a_weekend_is_quarantined_with_the_session_before_it(
    embedded_database, settings, tmp_path
):
    def edit(msft):
        saturday = msft.loc[[_at(msft, "2020-12-04 12:45:00")]].assign(
            timestamp="2020-12-05 12:45:00"
        )
        return pd.concat([msft, saturday]).sort_values("timestamp", ignore_index=True)

    replay = _replay(tmp_path, "saturday", edit)
    result = materialize(
        embedded_database, settings, ("2020-12-04", "2020-12-07"), replay_dir=replay
    )

    _assert_blocked_and_counted(
        embedded_database, result, "check_raw_bars_timestamps", session="2020-12-04"
    )
    [row] = quarantined(embedded_database)
    assert (row["session"], row["reason"]) == ("2020-12-04", "dated off its session")
    assert later_rows(embedded_database, "2020-12-07")["dual_ticker_bars"] == 0


def test_a_tenfold_close_is_a_price_jump_not_a_quarantine(embedded_database, settings, tmp_path):
    def edit(msft):
        row = _at(msft, MINUTE)
        for column in ("open", "high", "low", "close"):
            msft.loc[row, column] = str(float(msft.loc[row, column]) * 10)
        return msft

    result = materialize(
        embedded_database, settings, SESSION, replay_dir=_replay(tmp_path, "jump", edit)
    )

    assert not result.success
    assert not check_evaluations(result)["check_raw_bars_price_jump"].passed
    assert failure_total(embedded_database, "price_jump") == 1
    assert quarantined(embedded_database) == []
    assert later_rows(embedded_database, SESSION)["dual_ticker_bars"] == 0
