"""Positions synced from the active broker and marked to market on the latest bar close (stored
in current_positions through its owner, dual_ticker.storage.positions)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import asdict

from dual_ticker.clock import Clock
from dual_ticker.oms.broker import Broker
from dual_ticker.oms.market_prices import latest_closes
from dual_ticker.oms.orders import BrokerPosition
from dual_ticker.storage import positions
from dual_ticker.storage.positions import PositionRow

logger = logging.getLogger(__name__)


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
    with connection:
        symbols = positions.lock_symbols(connection) | {p.symbol for p in held}
        closes = latest_closes(connection, symbols, as_of=now)
        rows = mark_to_market(held, symbols, closes)
        positions.replace(connection, rows, now)
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
