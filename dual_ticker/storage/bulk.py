"""Frames in and out of PostgreSQL in bulk: binary COPY for writes, server-side casts for reads."""

from __future__ import annotations

import io
import struct

import numpy as np
import pandas as pd

PRICE_COLUMNS = ("open", "high", "low", "close")


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


_PG_EPOCH_US = np.datetime64("2000-01-01T00:00:00", "us")
_PG_EPOCH_DAY = np.datetime64("2000-01-01", "D")
_BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)


def _binary_fields(column: str, kind: str, part: pd.DataFrame, text) -> tuple[list, dict]:
    """The record fields (length word, then value) of one column for a group of rows."""
    length = f"{column}__len"
    if kind == "text":
        if text is None or (isinstance(text, float) and np.isnan(text)):
            return [(length, ">i4")], {length: -1}
        encoded = str(text).encode()
        if not encoded:
            return [(length, ">i4")], {length: 0}
        return [(length, ">i4"), (column, f"S{len(encoded)}")], {
            length: len(encoded),
            column: encoded,
        }
    values = part[column]
    if kind == "timestamptz":
        utc = values.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[us]")
        data, dtype, size = (utc - _PG_EPOCH_US).astype("int64"), ">i8", 8
    elif kind == "date":
        days = np.asarray(values.astype(str), dtype="datetime64[D]")
        data, dtype, size = (days - _PG_EPOCH_DAY).astype("int32"), ">i4", 4
    elif kind == "float8":
        data, dtype, size = values.to_numpy("float64"), ">f8", 8
    elif kind == "int8":
        data, dtype, size = values.to_numpy("int64"), ">i8", 8
    elif kind == "bool":
        data, dtype, size = values.to_numpy(bool), "u1", 1
    else:
        raise ValueError(f"no binary COPY encoding for {kind}")
    return [(length, ">i4"), (column, dtype)], {length: size, column: data}


def copy_binary(cursor, table: str, frame: pd.DataFrame, columns: dict[str, str]) -> None:
    """COPY in PostgreSQL's binary format, built with numpy (no per-value text formatting).

    `columns`: name -> timestamptz | date | float8 | int8 | bool | text. Rows are written in
    groups of equal text values, so every record of a group has one fixed layout. NaN in a float8
    column arrives as NaN (the reader turns it into NULL where NULL is meant).
    """
    names = list(columns)
    texts = [name for name in names if columns[name] == "text"]
    buffer = io.BytesIO()
    buffer.write(_BINARY_HEADER)
    groups = frame.groupby(texts, dropna=False, sort=False) if texts else [((), frame)]
    for key, part in groups:
        key = key if isinstance(key, tuple) else (key,)
        text_of = dict(zip(texts, key, strict=True))
        layout, values = [("fields", ">i2")], {"fields": len(names)}
        for name in names:
            fields, assigned = _binary_fields(name, columns[name], part, text_of.get(name))
            layout += fields
            values |= assigned
        records = np.empty(len(part), dtype=layout)
        for field, value in values.items():
            records[field] = value
        buffer.write(records.tobytes())
    buffer.write(struct.pack("!h", -1))
    buffer.seek(0)
    quoted = ", ".join(f'"{c}"' for c in names)
    cursor.copy_expert(f"COPY {table} ({quoted}) FROM STDIN WITH (FORMAT binary)", buffer)
