"""Order-management test fixtures: a fixed clock, bars to mark against, the loopback gateway."""

from __future__ import annotations

import pandas as pd
import pytest

from dual_ticker.clock import FixedClock
from dual_ticker.oms.ib_broker import IBBroker
from dual_ticker.oms.ib_connection import IBConnection
from dual_ticker.storage.database import transaction
from dual_ticker_tests.support.tws_gateway import TwsGateway

NOW = pd.Timestamp("2025-03-03 15:00:00+00:00")
BAR_START = NOW - pd.Timedelta(minutes=1)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


def add_bars(url: str, closes: dict[str, float], at: pd.Timestamp = BAR_START) -> None:
    """One bar per symbol starting at `at` (open = high = low = close)."""
    with transaction(url) as connection, connection.cursor() as cursor:
        for symbol, close in closes.items():
            cursor.execute(
                """INSERT INTO dual_ticker_bars
                       ("timestamp", symbol, open, high, low, close, volume)
                   VALUES (%s, %s, %s, %s, %s, %s, 1000)""",
                (at.to_pydatetime(), symbol, close, close, close, close),
            )


@pytest.fixture
def gateway(clock):
    with TwsGateway(prices={"NVDA": 120.0, "MSFT": 410.0}, clock=clock) as running:
        yield running


def ib_broker(gateway: TwsGateway, client_id: int = 7, **options) -> IBBroker:
    """An IB broker on the loopback gateway, with timeouts small enough for tests."""
    connection_options = {"timeout": 2.0, "reconnect_attempts": 2, "reconnect_backoff": 0.05}
    connection_options.update(
        {
            k: options.pop(k)
            for k in list(options)
            if k
            in (
                "timeout",
                "reconnect_attempts",
                "reconnect_backoff",
                "sleep",
                "permission",
                "account",
            )
        }
    )
    connection = IBConnection(gateway.host, gateway.port, client_id, **connection_options)
    return IBBroker(connection, **{"ack_timeout": 2.0, "market_fill_timeout": 2.0, **options})
