"""The broker the configuration asks for: paper (the default) or Interactive Brokers."""

from __future__ import annotations

from dual_ticker.clock import Clock
from dual_ticker.oms.broker import Broker
from dual_ticker.oms.paper_broker import PaperBroker
from dual_ticker.oms.trading_mode import TradingPermission


def broker_from_settings(
    settings, database_url: str, clock: Clock, live_trading_confirmed: bool = False
) -> Broker:
    """settings.broker.kind picks the broker; `live_trading_confirmed` is the environment's half of
    the live-trading permission (entry points read DUAL_TICKER_LIVE_TRADING=yes and pass it)."""
    broker = settings.broker
    if broker.kind == "paper":
        return PaperBroker(
            database_url,
            clock,
            slippage_bps=broker.slippage_bps,
            commission_per_share=broker.commission_per_share,
        )
    from dual_ticker.oms.ib_broker import (
        IBBroker,  # ib_async is imported only when IB is configured
    )
    from dual_ticker.oms.ib_connection import IBConnection

    endpoints = settings.endpoints
    permission = TradingPermission(broker.live_trading_enabled, live_trading_confirmed)
    connection = IBConnection(
        endpoints.ib_host,
        endpoints.ib_port,
        endpoints.ib_client_id,
        endpoints.ib_account,
        permission=permission,
        timeout=broker.connect_timeout_seconds,
    )
    return IBBroker(connection)
