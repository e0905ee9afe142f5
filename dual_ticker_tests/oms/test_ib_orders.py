"""Orders through the IB broker into stored state: statuses, executions, refusals, reconnects."""

import pytest

from dual_ticker.oms.order_service import OrderService
from dual_ticker.oms.order_store import order_events
from dual_ticker.oms.orders import OrderRequest, OrderStatus, OrderType, Side
from dual_ticker.oms.positions import sync_positions
from dual_ticker.oms.risk import RiskLimits
from dual_ticker.oms.trading_mode import TradingPermission
from dual_ticker.storage import positions
from dual_ticker.storage.database import connect, transaction
from dual_ticker_tests.oms.conftest import add_bars, ib_broker
from dual_ticker_tests.support.tws_gateway import TwsGateway

LIMITS = RiskLimits(max_order_quantity=500, max_position_notional=50_000.0)


@pytest.fixture
def broker(gateway):
    with ib_broker(gateway) as connected:
        yield connected


@pytest.fixture
def service(database_url, broker, clock):
    add_bars(database_url, {"NVDA": 121.0, "MSFT": 405.0})
    return OrderService(database_url, broker, clock, LIMITS)


def events(url, coid):
    with transaction(url) as connection:
        return [
            (e["from_status"], e["to_status"], float(e["filled_qty"]))
            for e in order_events(connection, coid)
        ]


def fills(url):
    with transaction(url) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT f.exec_id, o.client_order_id, f.quantity, f.price, f.commission "
            "FROM fills f JOIN orders o ON o.id = f.order_id ORDER BY f.id"
        )
        return [(e, c, float(q), float(p), float(m)) for e, c, q, p, m in cursor.fetchall()]


def test_order_status_and_executions_are_stored(service, gateway, database_url):
    order = service.submit(OrderRequest("ib-1", "NVDA", Side.BUY, 10))
    assert (
        order.status,
        order.broker,
        order.broker_order_id,
        order.filled_qty,
        order.avg_fill_price,
    ) == (OrderStatus.FILLED, "ib", "3", 10, 120.0)
    assert order.perm_id == gateway.orders[3].perm_id
    assert events(database_url, "ib-1") == [
        (None, "new", 0),
        ("new", "submitted", 0),
        ("submitted", "filled", 10),
    ]
    assert fills(database_url) == [(gateway.executions[0].exec_id, "ib-1", 10, 120.0, 1.0)]


def test_a_retried_submission_reaches_the_gateway_once(service, gateway):
    request = OrderRequest("ib-retry", "MSFT", Side.BUY, 5, OrderType.LIMIT, 300.0)
    first = service.submit(request)
    assert service.submit(request).id == first.id
    assert gateway.placed_order_ids == [3]


@pytest.mark.parametrize(
    "request_",
    [
        OrderRequest("ib-qty", "NVDA", Side.BUY, 501),
        OrderRequest("ib-notional", "MSFT", Side.BUY, 200),  # 200 * 405 = 81,000
    ],
)
def test_over_limit_orders_never_reach_the_gateway(service, gateway, database_url, request_):
    assert service.submit(request_).status is OrderStatus.REJECTED
    assert gateway.placed_order_ids == []
    assert events(database_url, request_.client_order_id)[-1][:2] == ("new", "rejected")


def test_a_gateway_rejection_is_stored_with_its_reason(service, gateway, database_url):
    gateway.buying_power = 1_000.0
    order = service.submit(OrderRequest("ib-201", "NVDA", Side.BUY, 20))
    assert order.status is OrderStatus.REJECTED and order.reason.startswith(
        "IB error 201: Order rejected"
    )
    assert events(database_url, "ib-201")[1:] == [
        ("new", "submitted", 0),
        ("submitted", "rejected", 0),
    ]


def test_cancel_and_partial_fill_transitions(service, gateway, database_url):
    service.submit(OrderRequest("ib-part", "NVDA", Side.BUY, 10, OrderType.LIMIT, 110.0))
    gateway.fill(3, 4, price=109.0)
    assert service.refresh("ib-part", wait_seconds=2).status is OrderStatus.PARTIALLY_FILLED
    cancelled = service.cancel("ib-part")
    assert (cancelled.status, cancelled.filled_qty) == (OrderStatus.CANCELLED, 4)
    assert events(database_url, "ib-part") == [
        (None, "new", 0),
        ("new", "submitted", 0),
        ("submitted", "partially_filled", 4),
        ("partially_filled", "cancelled", 4),
    ]


def test_a_fill_while_disconnected_is_stored_after_the_reconnect(service, gateway, database_url):
    service.submit(OrderRequest("ib-away", "NVDA", Side.BUY, 5, OrderType.LIMIT, 100.0))
    gateway.drop_connections()
    gateway.set_price("NVDA", 99.5)  # fills server-side while nobody is connected
    order = service.refresh("ib-away")
    assert (order.status, order.filled_qty, order.avg_fill_price) == (OrderStatus.FILLED, 5, 99.5)
    assert fills(database_url) == [(gateway.executions[0].exec_id, "ib-away", 5, 99.5, 1.0)]
    assert service.broker.connection.connects == 2


def test_positions_asset_function_marks_ib_positions(service, broker, gateway, database_url, clock):
    gateway.book[("DU1234567", "MSFT")] = (10.0, 400.0)
    service.submit(OrderRequest("ib-pos", "NVDA", Side.BUY, 10))
    connection = connect(database_url)
    try:
        summary = sync_positions(connection, broker, clock)
        rows = {row.symbol: row for row in positions.current(connection)}
    finally:
        connection.close()
    assert summary["total_value"] == 10 * 121.0 + 10 * 405.0
    assert (rows["NVDA"].market_value, rows["NVDA"].unrealized_pnl) == (1210, 10)
    assert (rows["MSFT"].market_value, rows["MSFT"].unrealized_pnl) == (4050, 50)


def test_a_non_paper_account_is_refused_unless_live_trading_is_enabled(database_url, clock):
    add_bars(database_url, {"NVDA": 121.0})
    with TwsGateway(accounts=("U7654321",), clock=clock) as live:
        with ib_broker(live) as refusing:
            order = OrderService(database_url, refusing, clock, LIMITS).submit(
                OrderRequest("live-1", "NVDA", Side.BUY, 1)
            )
        assert order.status is OrderStatus.REJECTED
        assert order.reason.startswith("refusing account U7***21: not a paper account")
        assert live.placed_order_ids == []
        with ib_broker(live, client_id=8, permission=TradingPermission(True, True)) as permitted:
            order = OrderService(database_url, permitted, clock, LIMITS).submit(
                OrderRequest("live-2", "NVDA", Side.BUY, 1)
            )
        assert order.status is OrderStatus.FILLED and len(live.placed_order_ids) == 1
