"""Mark prices: the close of the latest bar in dual_ticker_bars for each symbol."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd


def latest_closes(
    connection, symbols: Iterable[str], as_of: pd.Timestamp | None = None
) -> dict[str, float]:
    """{symbol: close of its latest bar starting before `as_of`}; symbols without bars absent."""
    symbols = sorted(set(symbols))
    if not symbols:
        return {}
    query = """SELECT DISTINCT ON (symbol) symbol, close FROM dual_ticker_bars
               WHERE symbol = ANY(%s)"""
    params: list = [symbols]
    if as_of is not None:
        query += ' AND "timestamp" < %s'
        params.append(as_of.to_pydatetime())
    with connection.cursor() as cursor:
        cursor.execute(query + ' ORDER BY symbol, "timestamp" DESC', params)
        return {symbol: float(close) for symbol, close in cursor.fetchall()}
