"""The seed's smoke test: bars from a fixture -> the pipeline -> the database -> counted."""

import pandas as pd

from dual_ticker_tests.support.pipeline import contract_rows, materialize, recorded, write_replay


def test_fixture_to_timescale_pipeline(database_url, settings, tmp_path):
    # 5 bars per symbol from the recorded fixture: 09:30..09:34 of 2020-12-01.
    frames = {}
    for symbol in ("NVDA", "MSFT"):
        bars = recorded(symbol)
        frames[symbol] = bars[
            bars["timestamp"].between("2020-12-01 09:30:00", "2020-12-01 09:34:00")
        ]
        assert len(frames[symbol]) == 5
    replay = write_replay(tmp_path / "replay", frames)

    result = materialize(
        database_url, settings, "2020-12-01", as_of="2020-12-01T09:35:00-05:00", replay_dir=replay
    )

    assert result.success
    rows = contract_rows(database_url)
    assert len(rows) == 10
    assert rows.groupby("symbol").size().to_dict() == {"MSFT": 5, "NVDA": 5}
    msft = rows[rows["symbol"] == "MSFT"].reset_index(drop=True)
    expected = frames["MSFT"].reset_index(drop=True)
    assert [float(v) for v in msft["close"]] == list(expected["close"])
    assert list(msft["timestamp"].dt.tz_convert("America/New_York").dt.strftime("%H:%M")) == [
        "09:30",
        "09:31",
        "09:32",
        "09:33",
        "09:34",
    ]
    assert set(rows["data_source"]) == {"replay"}
    assert (
        pd.api.types.is_datetime64tz_dtype(rows["timestamp"]) or rows["timestamp"].dt.tz is not None
    )
