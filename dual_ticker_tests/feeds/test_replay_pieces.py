"""A long replay recording is read a piece at a time: a range run walking through it holds a few
pieces, never the whole file, and gets exactly what reading the file whole gives, also for rows
that are no clean bars and for pieces whose first rows have no readable time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dual_ticker.calendar.nyse import expected_bar_starts, sessions_between
from dual_ticker.feeds import replay
from dual_ticker.feeds.base import FeedEmpty
from dual_ticker.feeds.replay import ReplayFeed

FIRST, LAST = "2019-01-02", "2019-03-29"


def _write(folder: Path, rows: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "NVDA.csv"
    path.write_text("timestamp,open,high,low,close,volume\n" + "\n".join(rows) + "\n")
    return path


def _minutes() -> list[str]:
    random = np.random.default_rng(3)
    rows = []
    for day in sessions_between(FIRST, LAST):
        for start in expected_bar_starts(day, 1).tz_convert("America/New_York"):
            price = round(100 + random.normal(), 4)
            rows.append(
                f"{start:%Y-%m-%d %H:%M:%S},{price},{price + 0.1:.4f},{price - 0.1:.4f},{price},100"
            )
    return rows


def _with_faults(rows: list[str]) -> list[str]:
    rows = list(rows)
    rows[10] = "not a time,1,2,0.5,1,10"  # placed with its predecessor
    rows[2000] = rows[2000].rsplit(",", 1)[0] + ",12.5"  # a fraction of a share
    rows[4000] = rows[4000].split(",")[0] + ",x,,0.5,1,10"  # no numbers
    rows.insert(6000, "")  # a blank line
    return rows


def _fetch_months(feed: ReplayFeed) -> list[pd.DataFrame]:
    got = []
    for month in pd.date_range("2019-01-01", LAST, freq="MS"):
        start = month.tz_localize("America/New_York")
        end = (month + pd.offsets.MonthBegin()).tz_localize("America/New_York")
        got.append(feed.fetch_intraday("NVDA", start, end, end))
    return got


@pytest.fixture(autouse=True)
def _fresh_caches():
    replay._load.cache_clear()
    replay._recording.cache_clear()
    yield
    replay._load.cache_clear()
    replay._recording.cache_clear()


def test_pieces_serve_what_the_whole_file_serves(tmp_path, monkeypatch):
    path = _write(tmp_path / "replay", _with_faults(_minutes()))
    monkeypatch.setattr(replay, "PIECE_BYTES", 1 << 30)
    whole = _fetch_months(ReplayFeed(path.parent))  # smaller than a piece: read whole

    replay._load.cache_clear()
    monkeypatch.setattr(replay, "PIECE_BYTES", 64 << 10)  # about 1,300 lines a piece
    pieces = _fetch_months(ReplayFeed(path.parent))

    recording = replay._recording(path, path.stat().st_mtime_ns)
    assert not recording.whole and len(recording.pieces) > 10
    assert replay._load.cache_info().currsize == 0  # the file was never held whole
    assert len(recording._kept) <= recording.KEPT
    for got, want in zip(pieces, whole, strict=True):
        pd.testing.assert_frame_equal(got, want)
    assert "delivered" in pieces[0] and pieces[0]["delivered"].notna().sum() == 3


def test_a_window_inside_one_piece_and_one_with_nothing(tmp_path, monkeypatch):
    path = _write(tmp_path / "replay", _minutes())
    monkeypatch.setattr(replay, "PIECE_BYTES", 64 << 10)
    feed = ReplayFeed(path.parent)
    start = pd.Timestamp("2019-02-05 10:00", tz="America/New_York")
    bars = feed.fetch_intraday(
        "NVDA", start, start + pd.Timedelta("30min"), start + pd.Timedelta("1D")
    )
    assert len(bars) == 30 and bars["timestamp"].is_monotonic_increasing
    saturday = pd.Timestamp("2019-02-02", tz="America/New_York")
    with pytest.raises(FeedEmpty):
        feed.fetch_intraday("NVDA", saturday, saturday + pd.Timedelta("1D"), start)


def test_a_recording_out_of_time_order_is_read_whole(tmp_path, monkeypatch):
    rows = _minutes()
    rows[100], rows[5000] = rows[5000], rows[100]
    path = _write(tmp_path / "replay", rows)
    monkeypatch.setattr(replay, "PIECE_BYTES", 64 << 10)
    months = _fetch_months(ReplayFeed(path.parent))
    assert replay._recording(path, path.stat().st_mtime_ns).whole
    assert sum(len(m) for m in months) == len(rows)
    assert all(m["timestamp"].is_monotonic_increasing for m in months)
