"""Orders IB does not settle at once, through the real ib_async client and the loopback gateway:
held outside regular hours, rejected after the acknowledgement, or for an unknown account."""

import pytest

from dual_ticker.oms.order_service import OrderService
from dual_ticker.oms.order_store import order_events, pending_quantity, working_order_ids
from dual_ticker.oms.orders import OrderRequest, OrderStatus, OrderType, Side
from dual_ticker.oms.positions import sync_positions
from dual_ticker.oms.risk import RiskLimits
from dual_ticker.storage import positions
from dual_ticker.storage.database import connect, transaction
from dual_ticker_tests.oms.conftest import add_bars, ib_broker
from dual_ticker_tests.support.tws_gateway import LATE_REJECT, TwsGateway

LIMITS = RiskLimits(max_order_quantity=500, max_position_notional=50_000.0)


@pytest.fixture
def closed_gateway(clock):
    with TwsGateway(prices={"NVDA": 120.0, "MSFT": 410.0}, clock=clock, market_open=False) as gw:
        yield gw


def order_service(gateway, database_url, clock):
    add_bars(database_url, {"NVDA": 121.0, "MSFT": 405.0})
    with ib_broker(gateway, market_fill_timeout=0.5) as broker:
        yield OrderService(database_url, broker, clock, LIMITS)


@pytest.fixture
def service(gateway, database_url, clock):
    yield from order_service(gateway, database_url, clock)


@pytest.fixture
def held_service(closed_gateway, database_url, clock):
    yield from order_service(closed_gateway, database_url, clock)


def stored(url, coid):
    """(events as (from, to, broker status, reason), NVDA quantity reserved, working order ids)."""
    with transaction(url) as connection:
        events = [
            (e["from_status"], e["to_status"], e["broker_status"], e["reason"])
            for e in order_events(connection, coid)
        ]
        return (
            events,
            pending_quantity(connection, "NVDA", "ib", 0),
            working_order_ids(connection, "ib"),
        )


def held_market_order(service, closed_gateway, database_url):
    order = service.submit(OrderRequest("held-1", "NVDA", Side.BUY, 10))
    assert (order.status, order.filled_qty, order.reason) == (OrderStatus.SUBMITTED, 0, None)
    assert closed_gateway.orders[3].status == "PreSubmitted"
    events, reserved, working = stored(database_url, "held-1")
    assert events[-1] == ("new", "submitted", "sent", None)
    assert (reserved, working) == (10, ["held-1"])
    at_ib = service.broker.order_status(order.broker_order_id)
    assert (at_ib.status, at_ib.broker_status, at_ib.reason) == (
        OrderStatus.SUBMITTED,
        "PreSubmitted",
        None,
    )
    return order


def test_a_held_market_order_stays_working_and_fills_on_the_next_sync(
    held_service, closed_gateway, database_url, clock
):
    held_market_order(held_service, closed_gateway, database_url)
    closed_gateway.open_market()
    (order,) = held_service.refresh_open_orders(wait_seconds=2)
    assert (order.status, order.filled_qty, order.avg_fill_price, order.reason) == (
        OrderStatus.FILLED,
        10,
        120.0,
        None,
    )
    connection = connect(database_url)
    try:
        sync_positions(connection, held_service.broker, clock)
        rows = {row.symbol: row.qty for row in positions.current(connection)}
    finally:
        connection.close()
    assert rows["NVDA"] == 10
    assert stored(database_url, "held-1")[1:] == (0, [])


def test_a_held_order_cancelled_at_ib_is_cancelled_and_releases_its_reservation(
    held_service, closed_gateway, database_url
):
    held_market_order(held_service, closed_gateway, database_url)
    closed_gateway.cancel(3)
    (order,) = held_service.refresh_open_orders(wait_seconds=2)
    assert (order.status, order.reason) == (OrderStatus.CANCELLED, None)
    events, reserved, working = stored(database_url, "held-1")
    assert events[-1] == ("submitted", "cancelled", "Cancelled", None)
    assert (reserved, working) == (0, [])


def test_a_reject_right_after_the_acknowledgement_is_stored_with_its_reason(
    service, gateway, database_url
):
    gateway.reject_after_ack()
    order = service.submit(OrderRequest("late-1", "NVDA", Side.BUY, 10))
    assert (order.status, order.reason) == (OrderStatus.REJECTED, f"IB error 201: {LATE_REJECT}")
    events, reserved, working = stored(database_url, "late-1")
    assert [e[:2] for e in events] == [
        (None, "new"),
        ("new", "submitted"),
        ("submitted", "rejected"),
    ]
    assert (reserved, working) == (0, [])
    assert gateway.executions == []


@pytest.mark.parametrize("final_status", ["Cancelled", "Inactive"])
def test_a_working_order_rejected_later_releases_its_reservation(
    service, gateway, database_url, final_status
):
    service.submit(OrderRequest("late-2", "NVDA", Side.BUY, 10, OrderType.LIMIT, 100.0))
    assert stored(database_url, "late-2")[1:] == (10, ["late-2"])
    gateway.reject(3, status=final_status)
    (order,) = service.refresh_open_orders(wait_seconds=2)
    assert (order.status, order.reason) == (OrderStatus.REJECTED, f"IB error 201: {LATE_REJECT}")
    events, reserved, working = stored(database_url, "late-2")
    assert events[-1] == ("submitted", "rejected", final_status, f"IB error 201: {LATE_REJECT}")
    assert (reserved, working) == (0, [])


def test_an_order_for_an_account_the_gateway_does_not_know_is_rejected_with_321(
    service, gateway, database_url
):
    service.broker.account()  # connected as DU1234567
    gateway.log_in("DU7654321")
    order = service.submit(OrderRequest("acct-1", "NVDA", Side.BUY, 300))
    assert (order.status, order.filled_qty) == (OrderStatus.REJECTED, 0)
    assert order.reason == (
        "IB error 321: Error validating request.-'bN' : cause - Invalid account code"
    )
    assert (gateway.placed_order_ids, gateway.orders) == ([3], {})
    assert stored(database_url, "acct-1")[1:] == (0, [])
    gateway.log_in("DU1234567")
    # 300 more NVDA pass the notional limit only because the rejected 300 hold no reservation
    after = service.submit(OrderRequest("acct-2", "NVDA", Side.BUY, 300))
    assert (after.status, after.filled_qty) == (OrderStatus.FILLED, 300)
    assert service.broker.connection.connects == 1
