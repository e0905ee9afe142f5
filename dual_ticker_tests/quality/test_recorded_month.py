"""The real MSFT month (Alpha Vantage recording) against the gate with CI thresholds."""

import pandas as pd

from dual_ticker.calendar.nyse import session_close, session_label, sessions_between
from dual_ticker_tests.quality.sessions import gate_settings, raw_bars_outcomes, recorded_session
from dual_ticker_tests.support.pipeline import REPLAY_DIR

MONTH = [str(day.date()) for day in sessions_between("2020-11-23", "2020-12-18")]
SETTINGS = gate_settings("ci", symbols=("MSFT",))


def _blocking(rows, day):
    results = raw_bars_outcomes(
        rows, rows.iloc[0:0], session_label(day), session_close(day), SETTINGS, ["alpha_vantage"]
    )
    return {o.check_name: o for o in results if o.blocks}


def test_every_recorded_session_passes_including_the_early_close():
    for day in MONTH:
        rows = recorded_session(REPLAY_DIR / "MSFT.csv", day, "MSFT")
        assert len(rows) > 390 or day == "2020-11-27"  # pre/post market bars are there too
        assert _blocking(rows, day) == {}, day


def test_six_percent_of_one_session_removed_fails_that_session_only():
    target = "2020-12-09"
    failures = {}
    for day in MONTH:
        rows = recorded_session(REPLAY_DIR / "MSFT.csv", day, "MSFT")
        if day == target:
            local = rows["timestamp"].dt.tz_convert("America/New_York")
            regular = rows.index[
                (local.dt.hour * 60 + local.dt.minute >= 570) & (local.dt.hour < 16)
            ]
            rows = rows.drop(regular[::16][:24])  # 24 of 390 minutes = 6.2%
        blocking = _blocking(rows, day)
        if blocking:
            failures[day] = blocking
    assert list(failures) == [target]
    assert list(failures[target]) == ["check_raw_bars_missing_data"]
    assert failures[target]["check_raw_bars_missing_data"].metadata["missing_ratio"][
        "MSFT"
    ] == round(24 / 390, 6)
    assert pd.Timestamp(target).day == 9
