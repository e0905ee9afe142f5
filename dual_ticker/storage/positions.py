"""current_positions marked to market on the latest dual_ticker_bars close per symbol."""

from __future__ import annotations


def mark_to_market(connection) -> dict:
    """market_value = qty * close, unrealized_pnl = (close - avg_price) * qty; returns the book."""
    with connection.cursor() as cursor:
        cursor.execute(
            """UPDATE current_positions p
               SET market_value = p.qty * latest.close,
                   unrealized_pnl = (latest.close - p.avg_price) * p.qty,
                   last_updated = now()
               FROM (SELECT DISTINCT ON (symbol) symbol, close FROM dual_ticker_bars
                     ORDER BY symbol, "timestamp" DESC) latest
               WHERE latest.symbol = p.symbol"""
        )
        cursor.execute(
            "SELECT symbol, qty, avg_price, market_value, unrealized_pnl FROM current_positions ORDER BY symbol"
        )
        rows = cursor.fetchall()
    positions = [
        {"symbol": s, "qty": float(q), "avg_price": float(a), "market_value": float(m), "unrealized_pnl": float(u)}
        for s, q, a, m, u in rows
    ]
    return {"positions": positions, "total_value": round(sum(p["market_value"] for p in positions), 2)}
