"""The 13 features per symbol (DESIGN.md): TA-Lib RSI/EMA, session VWAP, New York time of day."""

from __future__ import annotations

import numpy as np
import pandas as pd
import talib

from dual_ticker.calendar.nyse import NEW_YORK

FEATURE_COLUMNS = [
    "open",
    "high",
    "low",
    "close",
    "volume",
    "rsi",
    "ema_short",
    "ema_long",
    "vwap",
    "hour_sin",
    "hour_cos",
    "minute_sin",
    "minute_cos",
]
RSI_PERIOD, EMA_SHORT, EMA_LONG = 14, 12, 26


def time_features(timestamps: pd.Series) -> pd.DataFrame:
    """sin/cos of the bar start's hour (of 24) and minute (of 60) in New York time."""
    local = pd.DatetimeIndex(timestamps).tz_convert(NEW_YORK)
    hour = 2 * np.pi * local.hour.to_numpy() / 24
    minute = 2 * np.pi * local.minute.to_numpy() / 60
    return pd.DataFrame(
        {
            "hour_sin": np.sin(hour),
            "hour_cos": np.cos(hour),
            "minute_sin": np.sin(minute),
            "minute_cos": np.cos(minute),
        },
        index=timestamps.index,
    )


def session_vwap(frame: pd.DataFrame) -> pd.Series:
    """Cumulative sum(typical price * volume) / cumulative volume from each session's open."""
    session = frame["timestamp"].dt.tz_convert(NEW_YORK).dt.date
    typical = (frame["high"] + frame["low"] + frame["close"]) / 3
    weighted = (typical * frame["volume"]).groupby(session).cumsum()
    volume = frame["volume"].groupby(session).cumsum()
    # A session that opens on zero volume has no traded price yet: fall back to typical price.
    return (weighted / volume.replace(0, np.nan)).fillna(typical)


def symbol_features(bars: pd.DataFrame) -> pd.DataFrame:
    """Features of one symbol's continuous bar series (ordered, history first)."""
    bars = bars.sort_values("timestamp").reset_index(drop=True)
    close = bars["close"].to_numpy(dtype="float64")
    out = bars.copy()
    out["rsi"] = talib.RSI(close, timeperiod=RSI_PERIOD)
    out["ema_short"] = talib.EMA(close, timeperiod=EMA_SHORT)
    out["ema_long"] = talib.EMA(close, timeperiod=EMA_LONG)
    out["vwap"] = session_vwap(bars)
    return pd.concat([out, time_features(bars["timestamp"])], axis=1)


def compute_features(history: pd.DataFrame, bars: pd.DataFrame) -> pd.DataFrame:
    """Features of `bars`, indicators warmed up on `history` (earlier stored bars, same symbols).

    Returns only the rows of `bars`, ordered by symbol and time, with FEATURE_COLUMNS and
    `bars_before` (earlier bars in the series, to tell warm-up from a real gap).
    """
    frames = []
    for symbol, own in bars.groupby("symbol", sort=True):
        earlier = history[
            (history["symbol"] == symbol) & (history["timestamp"] < own["timestamp"].min())
        ]
        series = pd.concat([earlier.assign(_new=False), own.assign(_new=True)], ignore_index=True)
        featured = symbol_features(series)
        featured["bars_before"] = range(len(featured))  # how much series each row's indicators saw
        frames.append(featured[featured["_new"]].drop(columns="_new"))
    if not frames:
        return bars.iloc[0:0].reindex(columns=[*bars.columns, *FEATURE_COLUMNS[5:], "bars_before"])
    return pd.concat(frames, ignore_index=True)
