"""The broker the configuration asks for: paper (the default) or Interactive Brokers."""

from __future__ import annotations

from dual_ticker.clock import Clock
from dual_ticker.oms.broker import Broker
from dual_ticker.oms.paper_broker import PaperBroker
from dual_ticker.oms.trading_mode import TradingPermission
from dual_ticker.settings import Settings


def broker_from_settings(settings: Settings, database_url: str, clock: Clock) -> Broker:
    """settings.broker.kind picks the broker; live trading needs both halves of the permission:
    broker.live_trading_enabled (config) and live_trading_confirmed (environment)."""
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
    permission = TradingPermission(broker.live_trading_enabled, settings.live_trading_confirmed)
    connection = IBConnection(
        endpoints.ib_host,
        endpoints.ib_port,
        endpoints.ib_client_id,
        endpoints.ib_account,
        permission=permission,
        timeout=broker.connect_timeout_seconds,
    )
    return IBBroker(connection)
