"""Rows as the provider delivered them: numbers where it sent numbers, and, for a row holding
anything else (empty, null, NaN, infinite, text, a fraction of a share, an unreadable time), the
row's delivered values as JSON text in a `delivered` column. Such rows are kept, never dropped or
raised on: judging them is the gate's job (quality.quarantine), keeping them the feed's."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from dual_ticker.feeds.base import PRICE_COLUMNS, share_counts

DELIVERED = "delivered"
FIELDS = [*PRICE_COLUMNS, "volume"]


def _json_safe(value: object) -> object:
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else str(value)
    return str(value)


def delivered_text(row: dict) -> str:
    """One row's delivered values as JSON (text where a value is not a finite number)."""
    return json.dumps({key: _json_safe(value) for key, value in row.items()})


def _numbers(values: pd.Series) -> pd.Series:
    """float64 of each value; NaN where it is not a number (lists, objects, text, empty, null)."""
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind in ("floating", "integer", "mixed-integer-float", "empty"):
        scalar = values  # numbers throughout (a JSON or CSV feed): nothing to strip or drop
    elif kind == "string":  # text throughout (the replay's CSV): what reads as no number is
        # read again stripped (surrounding whitespace of every kind), empty text is no number
        numbers = pd.to_numeric(values, errors="coerce").astype("float64")
        again = numbers.isna() & values.ne("")
        if again.any():
            numbers[again] = pd.to_numeric(values[again].str.strip(), errors="coerce")
        return numbers
    else:  # anything mixed: lists, objects and booleans are no numbers
        scalar = values.map(lambda v: v if isinstance(v, (str, int, float, np.number)) else None)
        scalar = scalar.map(lambda v: v.strip() if isinstance(v, str) else v)
    return pd.to_numeric(scalar, errors="coerce").astype("float64")


def as_delivered(raw: pd.DataFrame, starts: pd.Series) -> pd.DataFrame:
    """`raw`: a `timestamp` label and the FIELDS as delivered (any types); `starts`: the parsed bar
    starts (NaT where the label could not be read). Returns timestamp, FIELDS and `delivered`:
    prices float64 (NaN where not a number), volume int64 when every value is a whole number
    (float64 otherwise), and the delivered JSON on rows that hold anything but finite numbers."""
    frame = pd.DataFrame({"timestamp": starts.array}, index=raw.index)
    for column in FIELDS:
        frame[column] = _numbers(raw[column])
    values = frame[FIELDS].to_numpy()
    volume = frame["volume"].to_numpy()
    odd = (
        frame["timestamp"].isna().to_numpy()
        | ~np.isfinite(values).all(axis=1)
        | (np.isfinite(volume) & (volume != np.round(volume)))
    )
    frame[DELIVERED] = None
    if odd.any():
        originals = raw.loc[odd, ["timestamp", *FIELDS]].to_dict("records")
        frame.loc[odd, DELIVERED] = [delivered_text(row) for row in originals]
    frame["volume"] = share_counts(frame["volume"])
    return frame


def malformed(bars: pd.DataFrame) -> pd.Series:
    """Which rows of a delivery hold something other than finite numbers and a readable time."""
    if DELIVERED not in bars:
        return pd.Series(False, index=bars.index)
    return bars[DELIVERED].notna()
