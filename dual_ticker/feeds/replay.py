"""The replay feed: recorded sessions from <SYMBOL>.csv files, revealed up to the run's as_of."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

from dual_ticker.calendar.nyse import NEW_YORK
from dual_ticker.feeds.base import (
    PRICE_COLUMNS,
    FeedEmpty,
    FeedUnavailable,
    FeedUnparseable,
    IntradayFeed,
    normalise_bars,
)

REPLAY_COLUMNS = ["timestamp", *PRICE_COLUMNS, "volume"]


@lru_cache(maxsize=8)
def _load(path: Path, modified_ns: int) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, dtype={"timestamp": str})
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise FeedUnparseable(
            "replay", f"{path}: not a readable CSV ({exc}); fix or replace the file"
        ) from None
    missing = [column for column in REPLAY_COLUMNS if column not in frame.columns]
    if missing:
        raise FeedUnparseable(
            "replay",
            f"{path}: missing column(s) {', '.join(missing)}; expected {','.join(REPLAY_COLUMNS)}",
        )
    try:
        wall = pd.to_datetime(frame["timestamp"], format="%Y-%m-%d %H:%M:%S")
        frame["timestamp"] = wall.dt.tz_localize(NEW_YORK, ambiguous="raise", nonexistent="raise")
        frame[PRICE_COLUMNS] = frame[PRICE_COLUMNS].astype("float64")
        frame["volume"] = frame["volume"].astype("int64")
    except (ValueError, TypeError) as exc:
        raise FeedUnparseable(
            "replay",
            f"{path}: {exc}; timestamps are 'YYYY-MM-DD HH:MM:SS' New York time, numbers plain",
        ) from None
    return frame.sort_values("timestamp", kind="stable").reset_index(drop=True)


class ReplayFeed(IntradayFeed):
    """Serves recorded bars as if live: only bars complete by as_of exist."""

    name = "replay"

    def __init__(self, folder: Path | str):
        self.folder = Path(folder)

    def _path(self, symbol: str) -> Path:
        return self.folder / f"{symbol.upper()}.csv"

    def recorded(self, symbol: str) -> pd.DataFrame:
        path = self._path(symbol)
        if not path.is_file():
            raise FeedUnavailable(
                "replay",
                f"no recording {path}; add <SYMBOL>.csv there or set DUAL_TICKER_REPLAY_DIR",
            )
        return _load(path, path.stat().st_mtime_ns)

    def fetch_intraday(self, symbol, start, end, as_of):
        bars = self.recorded(symbol)
        complete = bars["timestamp"] + pd.Timedelta(minutes=1) <= as_of
        window = bars[(bars["timestamp"] >= start) & (bars["timestamp"] < end) & complete]
        if window.empty:
            raise FeedEmpty(
                "replay", f"{symbol}: no recorded bars between {start} and {min(end, as_of)}"
            )
        return normalise_bars(window, symbol.upper(), self.name)
