"""The pipeline's own guard against a forming bar: whatever a feed hands over, a minute not complete
by the run's as_of never reaches raw_bars (the clients drop it too; this holds without them)."""

import pandas as pd

from dual_ticker.pipeline.steps import _within

SESSION = "2020-12-01"
OPEN = pd.Timestamp(f"{SESSION} 09:30", tz="America/New_York").tz_convert("UTC")
MID_MINUTE = OPEN + pd.Timedelta(minutes=5, seconds=40)


def delivery(starts) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "symbol": "MSFT",
            "timestamp": pd.DatetimeIndex(starts),
            "open": 1.0,
            "high": 1.0,
            "low": 1.0,
            "close": 1.0,
            "volume": 10,
            "data_source": "alpha_vantage",
        }
    )


def test_a_minute_still_forming_at_as_of_is_not_kept():
    starts = pd.date_range(OPEN, periods=6, freq="1min")  # 09:30 .. 09:35, 09:35 forming
    kept = _within(delivery(starts), {SESSION: (OPEN, MID_MINUTE)})
    assert list(kept["timestamp"]) == list(starts[:-1])
    assert set(kept["session"]) == {SESSION}
