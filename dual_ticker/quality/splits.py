"""Splits inside the indicators' window: an overnight move that matches a split ratio means the
bars on either side of it are on different price scales, so RSI and the EMAs read nonsense."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dual_ticker.calendar.nyse import new_york_dates

# Ratios of the splits NVDA and MSFT have had since 2000 (3:2, 2:1, 4:1, 10:1) and their kin; an
# overnight move within TOLERANCE of one (either way: reverse splits too) is taken for a split.
SPLIT_RATIOS = (1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 25, 30, 40, 50)
TOLERANCE = 0.04
COLUMNS = ["symbol", "before", "last_close", "after", "first_open", "ratio", "split"]


def suspected_splits(history: pd.DataFrame, bars: pd.DataFrame) -> pd.DataFrame:
    """Session boundaries of `history` followed by `bars` (same symbols) where a symbol's last
    close and next open differ by a split ratio: one row per boundary, COLUMNS."""
    fields = ["symbol", "timestamp", "open", "close"]
    series = pd.concat([history[fields], bars[fields]], ignore_index=True)
    series = series.drop_duplicates(["symbol", "timestamp"], keep="last")
    series = series.sort_values(["symbol", "timestamp"]).reset_index(drop=True)
    if series.empty:
        return pd.DataFrame(columns=COLUMNS)
    # Sorted by symbol and time, an overnight boundary is a row of the same symbol as the row
    # before it, on another New York day (positions, not a groupby: this runs for every chunk).
    symbol = series["symbol"].to_numpy()
    day = new_york_dates(series["timestamp"]).to_numpy()
    after = np.flatnonzero((symbol[1:] == symbol[:-1]) & (day[1:] != day[:-1])) + 1
    before = after - 1
    ratio = series["close"].to_numpy("float64")[before] / series["open"].to_numpy("float64")[after]
    # A split of N shares for one divides the price by N: the ratio is N (1/N for a reverse split).
    size = np.where(ratio >= 1, ratio, 1 / ratio)
    known = np.array(SPLIT_RATIOS, dtype=float)
    nearest = known[np.abs(size[:, None] / known[None, :] - 1).argmin(axis=1)]
    matched = np.abs(size / nearest - 1) <= TOLERANCE
    hits, previous = after[matched], before[matched]
    return pd.DataFrame(
        {
            "symbol": symbol[hits],
            "before": series["timestamp"].iloc[previous].to_numpy(),
            "last_close": series["close"].iloc[previous].to_numpy(),
            "after": series["timestamp"].iloc[hits].to_numpy(),
            "first_open": series["open"].iloc[hits].to_numpy(),
            "ratio": ratio[matched].round(4),
            "split": [
                _label(n, forward=r >= 1)
                for n, r in zip(nearest[matched], ratio[matched], strict=True)
            ],
        }
    )


def _label(size: float, forward: bool) -> str:
    """ "10:1" (ten new shares for one), "3:2"; a reverse split the other way round."""
    new, old = (3, 2) if size == 1.5 else (int(size), 1)
    return f"{new}:{old}" if forward else f"{old}:{new}"


def what_to_do(splits: pd.DataFrame, price_basis: str) -> str:
    """One line: the first suspected split and what the operator does about it."""
    first = splits.iloc[0]
    after = pd.Timestamp(first["after"])
    seen = (
        f"{first['symbol']} closed {first['last_close']:.4f} at {pd.Timestamp(first['before'])} "
        f"and opened {first['first_open']:.4f} at {after} (a {first['split']} split?)"
    )
    if price_basis == "raw":
        return (
            f"{seen}: on price_basis raw the indicators carry the split; set feeds.price_basis: "
            "adjusted and re-fetch the history (docs/OPERATIONS.md, Price basis and splits)"
        )
    return (
        f"{seen}: the bars before {new_york_dates(pd.Series([after])).iloc[0]} were stored on the "
        "pre-split scale; re-fetch them and re-run from there (docs/OPERATIONS.md, Price basis "
        "and splits)"
    )
