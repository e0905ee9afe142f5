"""`python -m dual_ticker.oms.ib_check` (make ib-check): connects to IB Gateway/TWS at IB_HOST,
IB_PORT, IB_CLIENT_ID, prints the account and positions, then places and cancels a far-from-market
limit order. Paper accounts only, whatever the configuration says."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Mapping

from dual_ticker.clock import SYSTEM_CLOCK, Clock
from dual_ticker.oms.broker import BrokerUnavailable
from dual_ticker.oms.ib_broker import IBBroker
from dual_ticker.oms.ib_connection import IBConnection
from dual_ticker.oms.orders import OrderRequest, OrderStatus, OrderType, Side
from dual_ticker.oms.trading_mode import LiveTradingRefused, TradingPermission
from dual_ticker.settings import ConfigError, load_settings

PAPER_ONLY = TradingPermission(how_to_enable="ib-check runs against paper accounts only")


class CheckFailed(RuntimeError):
    pass


def run_check(
    broker: IBBroker,
    symbol: str,
    limit_price: float,
    clock: Clock,
    out: Callable[[str], None] = print,
) -> None:
    connection = broker.connection
    connection.connect()
    out(f"✅ Connected to IB at {connection.where} as client {connection.client_id}")
    out(f"🏦 Account: {connection.account} (paper)")
    for tag, value in broker.account_values().items():
        out(f"   {tag}: {value}")
    positions = broker.positions()
    out("📊 Positions: none" if not positions else "📊 Positions:")
    for position in positions:
        out(f"   {position.symbol}: {position.qty:g} @ {position.avg_price:,.2f}")
    request = OrderRequest(
        f"ib-check-{clock.now():%Y%m%d%H%M%S}", symbol, Side.BUY, 1, OrderType.LIMIT, limit_price
    )
    placed = broker.submit(request)
    out(
        f"📝 Placed order {placed.broker_order_id}: BUY 1 {symbol} LMT {limit_price:.2f}"
        f" -> {placed.broker_status}"
    )
    if placed.status is not OrderStatus.SUBMITTED:
        raise CheckFailed(
            f"the test order did not rest at IB ({placed.broker_status}: {placed.reason}); "
            "check the order's status in TWS"
        )
    cancelled = broker.cancel(placed.broker_order_id)
    out(
        f"🛑 Cancelled order {placed.broker_order_id}"
        f" -> {cancelled.broker_status if cancelled else 'unknown'}"
    )
    if cancelled is None or cancelled.status is not OrderStatus.CANCELLED:
        raise CheckFailed(f"order {placed.broker_order_id} was not cancelled; cancel it in TWS")
    out("✅ IB check passed")


def main(argv: list[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dual_ticker.oms.ib_check", description=__doc__)
    parser.add_argument("--symbol", default="NVDA")
    parser.add_argument(
        "--limit-price", type=float, default=1.00, help="far below the market (default 1.00)"
    )
    args = parser.parse_args(argv)
    sys.stdout.reconfigure(encoding="utf-8")
    # ib_async logs each failure at length; this command reports it once, in one line.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("ib_async").setLevel(logging.CRITICAL)
    try:
        settings = load_settings(environ)
        endpoints = settings.endpoints
        connection = IBConnection(
            endpoints.ib_host,
            endpoints.ib_port,
            endpoints.ib_client_id,
            endpoints.ib_account,
            permission=PAPER_ONLY,
            timeout=settings.broker.connect_timeout_seconds,
        )
        broker = IBBroker(connection)
        try:
            run_check(broker, args.symbol.upper(), args.limit_price, SYSTEM_CLOCK)
        finally:
            broker.close()
    except (ConfigError, BrokerUnavailable, LiveTradingRefused, CheckFailed) as exc:
        print(f"ib-check: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
