"""pandera models of a session's bars and features; failures become per-row reasons."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series


class BarSchema(pa.DataFrameModel):
    """One-minute OHLCV bars: prices positive and finite, OHLC consistent, volume a count."""

    symbol: Series[str]
    timestamp: Series[pd.DatetimeTZDtype] = pa.Field(dtype_kwargs={"unit": "ns", "tz": "UTC"})
    open: Series[float] = pa.Field(gt=0)
    high: Series[float] = pa.Field(gt=0)
    low: Series[float] = pa.Field(gt=0)
    close: Series[float] = pa.Field(gt=0)
    volume: Series[np.int64] = pa.Field(ge=0)

    @pa.dataframe_check(name="prices_finite")
    def prices_finite(cls, frame: pd.DataFrame) -> Series[bool]:
        return np.isfinite(frame[["open", "high", "low", "close"]]).all(axis=1)

    @pa.dataframe_check(name="low_le_open_close")
    def low_below_body(cls, frame: pd.DataFrame) -> Series[bool]:
        return frame["low"] <= frame[["open", "close"]].min(axis=1)

    @pa.dataframe_check(name="high_ge_open_close")
    def high_above_body(cls, frame: pd.DataFrame) -> Series[bool]:
        return frame["high"] >= frame[["open", "close"]].max(axis=1)

    @pa.dataframe_check(name="low_le_high")
    def low_below_high(cls, frame: pd.DataFrame) -> Series[bool]:
        return frame["low"] <= frame["high"]

    class Config:
        strict = False
        coerce = False


class FeatureSchema(pa.DataFrameModel):
    """Indicator columns: RSI within [0, 100] where defined; time features on the unit circle."""

    rsi: Series[float] = pa.Field(ge=0, le=100, nullable=True)
    ema_short: Series[float] = pa.Field(gt=0, nullable=True)
    ema_long: Series[float] = pa.Field(gt=0, nullable=True)
    vwap: Series[float] = pa.Field(gt=0)
    hour_sin: Series[float] = pa.Field(ge=-1, le=1)
    hour_cos: Series[float] = pa.Field(ge=-1, le=1)
    minute_sin: Series[float] = pa.Field(ge=-1, le=1)
    minute_cos: Series[float] = pa.Field(ge=-1, le=1)

    class Config:
        strict = False
        coerce = False


def schema_failures(schema: type[pa.DataFrameModel], frame: pd.DataFrame) -> pd.DataFrame:
    """Rows that break the schema, with the broken check; empty when the frame passes."""
    # Only the model's columns are validated: pandera's frame-wide checks look at every column
    # they are given (is a row all null?), and the frames carry others (session, gate marks).
    own = [column for column in schema.to_schema().columns if column in frame]
    try:
        schema.validate(frame[own], lazy=True)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases
        return cases[["column", "check", "index", "failure_case"]].reset_index(drop=True)
    return pd.DataFrame(columns=["column", "check", "index", "failure_case"])
