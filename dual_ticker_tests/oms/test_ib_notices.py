"""IB's connection notices (error codes with request id -1) through the real ib_async client."""

import logging

import pytest

from dual_ticker.oms.orders import OrderRequest, OrderStatus, Side
from dual_ticker_tests.oms.conftest import ib_broker
from dual_ticker_tests.support.tws_gateway import TwsGateway

OURS = "dual_ticker.oms.ib_connection"


@pytest.fixture
def logs(caplog):
    caplog.set_level(logging.INFO)
    return caplog


def connection_lines(logs) -> list[tuple[str, str]]:
    return [
        (r.levelname, r.getMessage())
        for r in logs.records
        if r.name == OURS and r.getMessage().startswith("IB ")
    ]


def test_connect_notices_are_logged_at_info_and_break_nothing(clock, logs):
    with (
        TwsGateway(clock=clock, connect_notices=True) as gateway,
        ib_broker(gateway) as broker,
    ):
        update = broker.submit(OrderRequest("notice-1", "NVDA", Side.BUY, 10))
        assert (update.status, update.filled_qty, update.reason) == (OrderStatus.FILLED, 10, None)
        assert broker.connection.ib.isConnected() and broker.connection.connects == 1
    assert connection_lines(logs) == [
        ("INFO", "IB notice 2104: Market data farm connection is OK:usfarm"),
        ("INFO", "IB notice 2106: HMDS data farm connection is OK:ushmds"),
        ("INFO", "IB notice 2158: Sec-def data farm connection is OK:secdefnj"),
    ]
    assert [r.getMessage() for r in logs.records if r.levelno >= logging.WARNING] == []


def test_a_broken_farm_is_a_warning_and_its_recovery_a_notice(gateway, logs):
    with ib_broker(gateway) as broker:
        broker.account()
        gateway.notify(2103, "Market data farm connection is broken:usfarm")
        gateway.notify(2104, "Market data farm connection is OK:usfarm")
        broker.connection.wait_until(lambda: len(connection_lines(logs)) == 2, 2)
        assert broker.submit(OrderRequest("notice-2", "NVDA", Side.BUY, 1)).status is (
            OrderStatus.FILLED
        )
        assert broker.connection.connects == 1
    assert connection_lines(logs) == [
        (
            "WARNING",
            f"IB message 2103 from {gateway.host}:{gateway.port}: "
            "Market data farm connection is broken:usfarm",
        ),
        ("INFO", "IB notice 2104: Market data farm connection is OK:usfarm"),
    ]
