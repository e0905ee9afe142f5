"""The coarser bars of the contract (dual_ticker_bars_5m, _15m, _1h, _1d; sql/0012 and
sql/timescaledb/0006): continuous aggregates on TimescaleDB, refreshed here for exactly the days a
run wrote; plain views on PostgreSQL, always current. Readers query them alike."""

from __future__ import annotations

import pandas as pd

from dual_ticker.storage import timescale
from dual_ticker.storage.database import connect, transaction

LEVELS = (
    "dual_ticker_bars_5m",
    "dual_ticker_bars_15m",
    "dual_ticker_bars_1h",
    "dual_ticker_bars_1d",
)
COLUMNS = ("bucket", "symbol", "open", "high", "low", "close", "volume", "vwap", "bars")
NEW_YORK = "America/New_York"


def refresh(url: str, sessions) -> bool:
    """Materializes every level for the New York days of `sessions` (session keys), finest first
    (each level is built from the one below). Returns whether there was anything to refresh (only
    on TimescaleDB). Outside a transaction: TimescaleDB's refresh commits as it goes."""
    days = sorted(pd.Timestamp(key) for key in sessions)
    if not days:
        return False
    with transaction(url) as connection:
        if not timescale.enabled(connection):
            return False
    start = days[0].tz_localize(NEW_YORK)
    end = (days[-1] + pd.Timedelta(days=1)).tz_localize(NEW_YORK)
    connection = connect(url)
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            for level in LEVELS:
                cursor.execute(
                    "CALL refresh_continuous_aggregate(%s, %s, %s)",
                    (level, start.to_pydatetime(), end.to_pydatetime()),
                )
    finally:
        connection.close()
    return True


def read(connection, level: str, start, end, symbols=None) -> pd.DataFrame:
    """A level's bars with bucket in [start, end), ordered by symbol and bucket."""
    if level not in LEVELS:
        raise ValueError(f"{level!r} is not one of {', '.join(LEVELS)}")
    query = f"""SELECT {", ".join(COLUMNS)} FROM {level}
                WHERE bucket >= %s AND bucket < %s {"AND symbol = ANY(%s)" if symbols else ""}
                ORDER BY symbol, bucket"""
    params = [pd.Timestamp(start).to_pydatetime(), pd.Timestamp(end).to_pydatetime()]
    if symbols:
        params.append(list(symbols))
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return pd.DataFrame(cursor.fetchall(), columns=list(COLUMNS))
