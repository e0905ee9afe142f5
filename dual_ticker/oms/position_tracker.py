"""`python -m dual_ticker.oms.position_tracker`: prints current_positions and their total value."""

from __future__ import annotations

import sys
from collections.abc import Iterable

from dual_ticker.oms.positions import PositionRow, portfolio_value, read_positions
from dual_ticker.settings import ConfigError, load_settings
from dual_ticker.storage.database import DatabaseUnavailable, connect
from dual_ticker.storage.migrations import MigrationError
from dual_ticker.storage.ready import open_database


def money(value: float, signed: bool = False) -> str:
    """$12,345.67, -$5.00, or with `signed` +$5.00."""
    sign = "-" if value < 0 else ("+" if signed and value > 0 else "")
    return f"{sign}${abs(value):,.2f}"


def quantity(value: float) -> str:
    return f"{value:,.4f}".rstrip("0").rstrip(".")


def portfolio_report(rows: Iterable[PositionRow]) -> str:
    rows = list(rows)
    active = [row for row in rows if row.qty]
    lines = ["🏦 CURRENT PORTFOLIO STATUS"]
    if not active:
        lines.append("📊 No active positions")
    for row in active:
        lines.append(
            f"📊 {row.symbol}: {quantity(row.qty)} shares @ {money(row.avg_price)} avg"
            f" | Market Value: {money(row.market_value)}"
            f" | Unrealized P&L: {money(row.unrealized_pnl, signed=True)}"
        )
    lines.append(f"💰 Total Portfolio Value: {money(portfolio_value(active))}")
    return "\n".join(lines)


def main() -> int:
    try:
        settings = load_settings()
        connection = connect(open_database(settings))
        try:
            rows = read_positions(connection)
        finally:
            connection.close()
    except (ConfigError, DatabaseUnavailable, MigrationError, RuntimeError) as exc:
        print(f"position_tracker: {exc}", file=sys.stderr)
        return 1
    sys.stdout.reconfigure(encoding="utf-8")
    print(portfolio_report(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
