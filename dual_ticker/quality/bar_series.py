"""How a session's stored bars become one series: preferred source per minute, aggregated to
the configured bar size (incomplete buckets are no bar). Regular hours: quality.gate.gated_bars."""

from __future__ import annotations

import pandas as pd

OHLCV = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}


def prefer_sources(rows: pd.DataFrame, source_order: list[str]) -> pd.DataFrame:
    """One bar per symbol and minute: the first source in `source_order` that delivered it."""
    if rows["data_source"].nunique() <= 1 and not rows.duplicated(["symbol", "timestamp"]).any():
        # one source and no minute twice (every backfill of one feed): nothing to choose
        return rows.sort_values(["symbol", "timestamp"], kind="stable").reset_index(drop=True)
    rank = {name: position for position, name in enumerate(source_order)}
    ranked = rows.assign(_rank=rows["data_source"].map(rank).fillna(len(rank)))
    ranked = ranked.sort_values(["symbol", "timestamp", "_rank"], kind="stable")
    return (
        ranked.drop_duplicates(["symbol", "timestamp"], keep="first")
        .drop(columns="_rank")
        .reset_index(drop=True)
    )


def aggregate(bars: pd.DataFrame, bar_minutes: int, as_of) -> pd.DataFrame:
    """OHLCV buckets labelled by their start; a bucket ending after as_of is not a bar yet.

    `as_of` is one moment or a Series aligned with `bars` (each row's session's as_of); a
    `session` column, when present, is kept.
    """
    step = pd.Timedelta(minutes=bar_minutes)
    bucket = bars["timestamp"].dt.floor(step)
    complete = bars[(bucket + step <= as_of).to_numpy()]
    keys = ["session", "symbol"] if "session" in bars else ["symbol"]
    if bar_minutes == 1:
        return complete.sort_values([*keys, "timestamp"]).reset_index(drop=True)
    grouped = (
        complete.assign(_bucket=bucket[complete.index])
        .sort_values("timestamp")
        .groupby([*keys, "_bucket"], sort=True)
    )
    result = grouped.agg(OHLCV)
    result["data_source"] = grouped["data_source"].agg(lambda s: "+".join(sorted(set(s))))
    result = result.reset_index().rename(columns={"_bucket": "timestamp"})
    return result[[*keys, "timestamp", *OHLCV, "data_source"]].reset_index(drop=True)
