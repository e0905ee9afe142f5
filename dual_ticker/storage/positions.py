"""current_positions: all of its SQL. One row per symbol, replaced by each sync from the broker."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class PositionRow:
    symbol: str
    qty: float
    avg_price: float
    market_value: float
    unrealized_pnl: float
    mark_price: float | None = None


def current(connection) -> list[PositionRow]:
    """current_positions as stored, by symbol."""
    with connection.cursor() as cursor:
        cursor.execute("""SELECT symbol, qty, avg_price, market_value, unrealized_pnl
                          FROM current_positions ORDER BY symbol""")
        return [
            PositionRow(symbol, float(qty), float(avg), float(value), float(pnl))
            for symbol, qty, avg, value, pnl in cursor.fetchall()
        ]


def quantities(connection, symbols: Iterable[str]) -> dict[str, float]:
    """{symbol: quantity held} for the stored ones among `symbols`."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT symbol, qty FROM current_positions WHERE symbol = ANY(%s)", (list(symbols),)
        )
        return {symbol: float(qty) for symbol, qty in cursor.fetchall()}


def lock_symbols(connection) -> set[str]:
    """The stored symbols, their rows locked until the caller's transaction ends."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT symbol FROM current_positions ORDER BY symbol FOR UPDATE")
        return {row[0] for row in cursor.fetchall()}


def replace(connection, rows: Iterable[PositionRow], at: pd.Timestamp) -> None:
    """Writes each row over its symbol's, stamped `at` (caller's transaction)."""
    with connection.cursor() as cursor:
        for row in rows:
            cursor.execute(
                """INSERT INTO current_positions
                       (symbol, qty, avg_price, market_value, unrealized_pnl, last_updated)
                   VALUES (%s, %s, %s, %s, %s, %s)
                   ON CONFLICT (symbol) DO UPDATE SET qty = EXCLUDED.qty,
                       avg_price = EXCLUDED.avg_price, market_value = EXCLUDED.market_value,
                       unrealized_pnl = EXCLUDED.unrealized_pnl,
                       last_updated = EXCLUDED.last_updated""",
                (
                    row.symbol,
                    row.qty,
                    row.avg_price,
                    row.market_value,
                    row.unrealized_pnl,
                    at.to_pydatetime(),
                ),
            )
