"""current_positions: synced from the active broker and marked to market on the latest bar close."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from dual_ticker.clock import Clock
from dual_ticker.oms.broker import Broker
from dual_ticker.oms.market_prices import latest_closes
from dual_ticker.oms.orders import BrokerPosition

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PositionRow:
    symbol: str
    qty: float
    avg_price: float
    market_value: float
    unrealized_pnl: float
    mark_price: float | None = None


def mark_to_market(
    held: Iterable[BrokerPosition], symbols: Iterable[str], closes: dict[str, float]
) -> list[PositionRow]:
    """One row per symbol: market value = qty * close, unrealized P&L = (close - avg price) * qty.

    A symbol not held is flat. A held symbol without a close keeps its cost as value and no P&L.
    """
    by_symbol = {p.symbol: p for p in held}
    rows = []
    for symbol in sorted(set(symbols) | set(by_symbol)):
        position = by_symbol.get(symbol, BrokerPosition(symbol, 0.0, 0.0))
        close = closes.get(symbol)
        mark = close if close is not None else position.avg_price
        rows.append(
            PositionRow(
                symbol,
                position.qty,
                position.avg_price,
                round(position.qty * mark, 4),
                round((mark - position.avg_price) * position.qty, 4),
                close,
            )
        )
    return rows


def portfolio_value(rows: Iterable[PositionRow]) -> float:
    return round(sum(row.market_value for row in rows), 4)


def sync_positions(connection, broker: Broker, clock: Clock) -> dict:
    """Replaces current_positions with the broker's positions marked to market, in one transaction.

    Commits on success (rolls back on error). Returns a summary for asset metadata.
    """
    held = broker.positions()
    now = clock.now()
    with connection, connection.cursor() as cursor:
        cursor.execute("SELECT symbol FROM current_positions ORDER BY symbol FOR UPDATE")
        symbols = {row[0] for row in cursor.fetchall()} | {p.symbol for p in held}
        closes = latest_closes(connection, symbols, as_of=now)
        rows = mark_to_market(held, symbols, closes)
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
                    now.to_pydatetime(),
                ),
            )
    unmarked = [row.symbol for row in rows if row.qty and row.mark_price is None]
    if unmarked:
        logger.warning("no dual_ticker_bars close for %s: valued at cost", ", ".join(unmarked))
    return {
        "broker": broker.name,
        "as_of": now.isoformat(),
        "positions": {row.symbol: asdict(row) for row in rows},
        "open_positions": sum(1 for row in rows if row.qty),
        "total_value": portfolio_value(rows),
        "total_unrealized_pnl": round(sum(row.unrealized_pnl for row in rows), 4),
        "unmarked": unmarked,
    }


def read_positions(connection) -> list[PositionRow]:
    """current_positions as stored, by symbol."""
    with connection.cursor() as cursor:
        cursor.execute("""SELECT symbol, qty, avg_price, market_value, unrealized_pnl
                          FROM current_positions ORDER BY symbol""")
        return [
            PositionRow(symbol, float(qty), float(avg), float(value), float(pnl))
            for symbol, qty, avg, value, pnl in cursor.fetchall()
        ]
