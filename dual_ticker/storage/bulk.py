"""Frames in and out of PostgreSQL in bulk: COPY for writes, server-side casts for reads."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

PRICE_COLUMNS = ("open", "high", "low", "close")


def _csv_ready(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Timestamps as ISO text with offset, formatted vectorised (pandas' date_format is slow)."""
    out = frame[columns].copy()
    for column in columns:
        if isinstance(out[column].dtype, pd.DatetimeTZDtype):
            utc = out[column].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
            out[column] = pd.Series(np.datetime_as_string(utc, unit="us"), index=out.index) + "+00"
    return out


def copy_frame(cursor, table: str, frame: pd.DataFrame, columns: list[str]) -> None:
    """COPY the frame's columns into a table (NULL for missing values)."""
    buffer = io.StringIO()
    _csv_ready(frame, columns).to_csv(buffer, index=False, header=False, na_rep="\\N")
    buffer.seek(0)
    quoted = ", ".join(f'"{c}"' for c in columns)
    cursor.copy_expert(f"COPY {table} ({quoted}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", buffer)


def select_list(columns: list[str], alias: str = "") -> str:
    """SELECT list that converts in the server: epoch seconds and float8 parse fast in pandas."""
    prefix = f"{alias}." if alias else ""
    parts = []
    for column in columns:
        if column == "timestamp":
            parts.append(f'extract(epoch FROM {prefix}"timestamp")::float8')
        elif column in PRICE_COLUMNS:
            parts.append(f'{prefix}"{column}"::float8')
        elif column == "session":
            parts.append(f"{prefix}session::text")
        else:
            parts.append(f'{prefix}"{column}"')
    return ", ".join(parts)


def read_frame(cursor, columns: list[str]) -> pd.DataFrame:
    """The cursor's rows as a frame, decoding what select_list encoded."""
    frame = pd.DataFrame(cursor.fetchall(), columns=columns)
    if "timestamp" in frame:
        frame["timestamp"] = pd.to_datetime(
            frame["timestamp"].astype("float64"), unit="s", utc=True
        )
    for column in PRICE_COLUMNS:
        if column in frame:
            frame[column] = frame[column].astype("float64")
    if "volume" in frame:
        frame["volume"] = frame["volume"].astype("int64")
    if "conflict" in frame:
        frame["conflict"] = frame["conflict"].astype(bool)
    return frame
