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
from dual_ticker.feeds.delivered import as_delivered

REPLAY_COLUMNS = ["timestamp", *PRICE_COLUMNS, "volume"]
PLACE = "placed"  # the row's time, or its predecessor's in the file when it has none


@lru_cache(maxsize=8)
def _load(path: Path, modified_ns: int) -> pd.DataFrame:
    """The file's rows in time order. Values are kept as written (feeds.delivered); a row whose
    time cannot be read keeps its place in the file, so it is served with its neighbours."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
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
    wall = pd.to_datetime(frame["timestamp"], format="%Y-%m-%d %H:%M:%S", errors="coerce")
    starts = wall.dt.tz_localize(NEW_YORK, ambiguous="NaT", nonexistent="NaT")
    bars = as_delivered(frame, starts)
    bars[PLACE] = starts.ffill().bfill()
    return bars.sort_values(PLACE, kind="stable").reset_index(drop=True)


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
        placed = bars[PLACE]
        complete = placed + pd.Timedelta(minutes=1) <= as_of
        window = bars[(placed >= start) & (placed < end) & complete]
        if window.empty:
            raise FeedEmpty(
                "replay", f"{symbol}: no recorded bars between {start} and {min(end, as_of)}"
            )
        return normalise_bars(window, symbol.upper(), self.name)
