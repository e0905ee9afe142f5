"""How a session's stored bars become one series: preferred source per minute, regular hours,
aggregated to the configured bar size (incomplete buckets are no bar)."""

from __future__ import annotations

import pandas as pd

from dual_ticker.market_calendar import session_close, session_open

OHLCV = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}


def prefer_sources(rows: pd.DataFrame, source_order: list[str]) -> pd.DataFrame:
    """One bar per symbol and minute: the first source in `source_order` that delivered it."""
    rank = {name: position for position, name in enumerate(source_order)}
    ranked = rows.assign(_rank=rows["data_source"].map(rank).fillna(len(rank)))
    ranked = ranked.sort_values(["symbol", "timestamp", "_rank"], kind="stable")
    return ranked.drop_duplicates(["symbol", "timestamp"], keep="first").drop(columns="_rank").reset_index(drop=True)


def regular_session(rows: pd.DataFrame, session: pd.Timestamp) -> pd.DataFrame:
    """Bars starting between the session's open and its close (pre/post market left out)."""
    opened, closed = session_open(session), session_close(session)
    inside = (rows["timestamp"] >= opened) & (rows["timestamp"] < closed)
    return rows[inside].reset_index(drop=True)


def aggregate(bars: pd.DataFrame, bar_minutes: int, as_of: pd.Timestamp) -> pd.DataFrame:
    """OHLCV buckets labelled by their start; a bucket ending after as_of is not a bar yet."""
    step = pd.Timedelta(minutes=bar_minutes)
    if bar_minutes == 1:
        complete = bars[bars["timestamp"] + step <= as_of]
        return complete.sort_values(["symbol", "timestamp"]).reset_index(drop=True)
    bucket = bars["timestamp"].dt.floor(step)
    grouped = bars.assign(_bucket=bucket).sort_values("timestamp").groupby(["symbol", "_bucket"], sort=True)
    result = grouped.agg(OHLCV)
    result["data_source"] = grouped["data_source"].agg(lambda s: "+".join(sorted(set(s))))
    result = result.reset_index().rename(columns={"_bucket": "timestamp"})
    result = result[result["timestamp"] + step <= as_of]
    return result[["symbol", "timestamp", *OHLCV, "data_source"]].reset_index(drop=True)
