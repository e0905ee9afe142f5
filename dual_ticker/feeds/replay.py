"""The replay feed: recorded sessions from <SYMBOL>.csv files, revealed up to the run's as_of."""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from dataclasses import dataclass
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
from dual_ticker.feeds.delivered import DELIVERED, as_delivered

REPLAY_COLUMNS = ["timestamp", *PRICE_COLUMNS, "volume"]
PLACE = "placed"  # the row's time, or its predecessor's in the file when it has none
BLOCK_ROWS = 100_000  # rows of a recording parsed at a time (a year of one symbol's minutes)
PIECE_BYTES = 1 << 20  # a longer recording is read in pieces of about this size


@lru_cache(maxsize=8)
def _load(path: Path, modified_ns: int) -> pd.DataFrame:
    """The file's rows in time order. Values are kept as written (feeds.delivered); a row whose
    time cannot be read keeps its place in the file, so it is served with its neighbours."""
    try:
        # Read as text a block at a time and kept as numbers: the text of a whole recording (five
        # years of minutes: 200 MB of Python strings per symbol) never exists at once.
        pieces = [_parsed(block, path) for block in _blocks(path)]
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise _unreadable(path, exc) from None
    bars = pd.concat(pieces, ignore_index=True) if len(pieces) > 1 else pieces[0]
    del pieces
    bars[PLACE] = bars[PLACE].ffill().bfill()
    if bars[PLACE].is_monotonic_increasing:  # a recording in time order, as written
        return bars.reset_index(drop=True)
    return bars.sort_values(PLACE, kind="stable").reset_index(drop=True)


def _unreadable(path: Path, exc: Exception) -> FeedUnparseable:
    return FeedUnparseable("replay", f"{path}: not a readable CSV ({exc}); fix or replace the file")


def _blocks(path: Path):
    yield from pd.read_csv(path, dtype=str, keep_default_na=False, chunksize=BLOCK_ROWS)


def _parsed(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """A block's rows as delivered, with their own time in PLACE (NaT where unreadable)."""
    missing = [column for column in REPLAY_COLUMNS if column not in frame.columns]
    if missing:
        raise FeedUnparseable(
            "replay",
            f"{path}: missing column(s) {', '.join(missing)}; expected {','.join(REPLAY_COLUMNS)}",
        )
    wall = pd.to_datetime(frame["timestamp"], format="%Y-%m-%d %H:%M:%S", errors="coerce")
    starts = wall.dt.tz_localize(NEW_YORK, ambiguous="NaT", nonexistent="NaT")
    return as_delivered(frame, starts).assign(**{PLACE: starts})


@dataclass(frozen=True)
class _Piece:
    """Whole lines of a recording: where they are in the file and the span of their rows' times
    (`carry`: the time before them, which their leading rows without a time take)."""

    offset: int
    length: int
    first: pd.Timestamp
    last: pd.Timestamp
    carry: pd.Timestamp | None


class _Recording:
    """A long recording in time order, read a piece (PIECE_BYTES of whole lines) at a time.

    One pass learns each piece's byte range and time span; a request parses the pieces its span
    touches and keeps the latest few, so a range run walking through the years holds a few pieces,
    not the file. A recording out of time order, or with quoted fields (a line may then not be a
    row), is read whole as before (`whole`)."""

    KEPT = 2

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self._kept: OrderedDict[int, pd.DataFrame] = OrderedDict()
        self.header, self.pieces = b"", []
        self.whole = False
        self._empty = pd.DataFrame()
        try:
            self._index()
        except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
            raise _unreadable(path, exc) from None

    def _index(self) -> None:
        ranges = list(_line_ranges(self.path, PIECE_BYTES))
        with self.path.open("rb") as file:
            self.header = file.readline()
            if b'"' in self.header:
                self.whole = True
                return
            carry = None
            for number, (offset, length) in enumerate(ranges):
                text = _read(file, offset, length)
                if b'"' in text:
                    self.whole = True
                    return
                rows = self._parse(text, carry, first_piece=number == 0)
                placed = rows[PLACE]
                if placed.isna().any() or not placed.is_monotonic_increasing:
                    self.whole = True  # no time to place a row by, or out of order
                    return
                if carry is not None and len(placed) and placed.iloc[0] < carry:
                    self.whole = True
                    return
                self._empty = rows.iloc[0:0]
                if len(placed):
                    piece = _Piece(offset, length, placed.iloc[0], placed.iloc[-1], carry)
                    self.pieces.append(piece)
                    if len(self._kept) < self.KEPT:  # the first ones: a range run starts there
                        self._keep(len(self.pieces) - 1, rows)
                    carry = placed.iloc[-1]
        self.whole = not self.pieces

    def _parse(self, text: bytes, carry, first_piece: bool) -> pd.DataFrame:
        rows = self._parse_clean(text)
        if rows is None:  # a row holds something else than numbers: read as text
            block = pd.read_csv(io.BytesIO(self.header + text), dtype=str, keep_default_na=False)
            rows = _parsed(block, self.path)
        placed = rows[PLACE].ffill()
        if carry is not None:
            placed = placed.fillna(carry)
        rows[PLACE] = placed.bfill() if first_piece else placed
        return rows

    def _parse_clean(self, text: bytes) -> pd.DataFrame | None:
        """The piece parsed as numbers by the CSV reader itself (no Python object per value), or
        None unless every row is a clean bar: a row that is not keeps its delivered text, which
        only the reading as text has."""
        block = pd.read_csv(
            io.BytesIO(self.header + text), dtype={"timestamp": str}, keep_default_na=False
        )
        fields = [column for column in REPLAY_COLUMNS if column != "timestamp"]
        if any(c not in block or not pd.api.types.is_numeric_dtype(block[c]) for c in fields):
            return None
        rows = _parsed(block, self.path)
        return None if rows[DELIVERED].notna().any() else rows

    def _keep(self, number: int, rows: pd.DataFrame) -> None:
        self._kept[number] = rows
        self._kept.move_to_end(number)
        while len(self._kept) > self.KEPT:
            self._kept.popitem(last=False)

    def between(self, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        """The rows placed in [start, end), in file order."""
        wanted = [n for n, p in enumerate(self.pieces) if p.last >= start and p.first < end]
        frames = []
        with self._lock:
            for number in wanted:
                rows = self._kept.get(number)
                if rows is None:
                    piece = self.pieces[number]
                    with self.path.open("rb") as file:
                        text = _read(file, piece.offset, piece.length)
                    rows = self._parse(text, piece.carry, first_piece=number == 0)
                self._keep(number, rows)
                placed = rows[PLACE]
                frames.append(rows[(placed >= start) & (placed < end)])
        if not frames:
            return self._empty
        return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def _read(file, offset: int, length: int) -> bytes:
    file.seek(offset)
    return file.read(length)


def _line_ranges(path: Path, size: int):
    """(offset, length) of consecutive runs of whole lines after the header, about `size` bytes
    each, found by reading the file a buffer at a time."""
    with path.open("rb") as file:
        file.readline()
        begin = position = file.tell()
        while True:
            buffer = file.read(size)
            if not buffer:
                break
            cut = buffer.rfind(b"\n")
            if cut < 0 or len(buffer) < size:
                position += len(buffer)  # the rest of the file (its last line may lack a newline)
                if len(buffer) < size:
                    break
                continue
            position += cut + 1
            file.seek(position)
            yield begin, position - begin
            begin = position
        if position > begin:
            yield begin, position - begin


@lru_cache(maxsize=8)
def _recording(path: Path, modified_ns: int) -> _Recording:
    return _Recording(path)


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

    def _between(self, symbol: str, start, end) -> pd.DataFrame:
        """The recorded rows placed in [start, end): a long recording in time order is read a
        piece at a time, any other whole (and kept)."""
        path = self._path(symbol)
        if not path.is_file() or path.stat().st_size <= PIECE_BYTES:
            bars = self.recorded(symbol)
            return bars[(bars[PLACE] >= start) & (bars[PLACE] < end)]
        recording = _recording(path, path.stat().st_mtime_ns)
        if recording.whole:
            bars = self.recorded(symbol)
            return bars[(bars[PLACE] >= start) & (bars[PLACE] < end)]
        return recording.between(start, end)

    def fetch_intraday(self, symbol, start, end, as_of):
        bars = self._between(symbol, start, end)
        placed = bars[PLACE]
        complete = placed + pd.Timedelta(minutes=1) <= as_of
        window = bars[complete]
        if window.empty:
            raise FeedEmpty(
                "replay", f"{symbol}: no recorded bars between {start} and {min(end, as_of)}"
            )
        return normalise_bars(window, symbol.upper(), self.name)
