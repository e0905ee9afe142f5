"""Orders with the paper broker: transitions stored, risk first, one send per client order id."""

import threading

import pytest

from dual_ticker.oms.order_service import ClientOrderIdConflict, OrderService
from dual_ticker.oms.order_store import order_events
from dual_ticker.oms.orders import OrderRequest, OrderStatus, OrderType, Side
from dual_ticker.oms.paper_broker import PaperBroker
from dual_ticker.oms.risk import RiskLimits
from dual_ticker.storage.database import transaction
from dual_ticker_tests.oms.conftest import add_bars

LIMITS = RiskLimits(max_order_quantity=100, max_position_notional=20_000.0)


@pytest.fixture
def paper(database_url, clock):
    add_bars(database_url, {"NVDA": 120.0, "MSFT": 410.0})
    return PaperBroker(database_url, clock, slippage_bps=0.0, commission_per_share=0.005)


@pytest.fixture
def service(database_url, paper, clock):
    return OrderService(database_url, paper, clock, LIMITS)


def transitions(url, client_order_id):
    with transaction(url) as connection:
        return [
            (e["from_status"], e["to_status"]) for e in order_events(connection, client_order_id)
        ]


def stored_fills(url):
    with transaction(url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT exec_id, quantity, price, commission FROM fills ORDER BY id")
        return [(e, float(q), float(p), float(c)) for e, q, p, c in cursor.fetchall()]


def test_a_market_order_is_filled_and_every_transition_stored(service, database_url):
    order = service.submit(OrderRequest("mkt-1", "NVDA", Side.BUY, 10))
    assert (order.status, order.filled_qty, order.avg_fill_price, order.broker) == (
        OrderStatus.FILLED,
        10,
        120,
        "paper",
    )
    assert transitions(database_url, "mkt-1") == [
        (None, "new"),
        ("new", "submitted"),
        ("submitted", "filled"),
    ]
    assert stored_fills(database_url) == [(order.fills[0].exec_id, 10, 120, 0.05)]


def test_a_retried_client_order_id_reaches_the_broker_once(service, paper, database_url):
    request = OrderRequest("retry-1", "NVDA", Side.BUY, 5)
    first = service.submit(request)
    second = service.submit(request)
    assert len(paper.submissions) == 1
    assert (second.id, second.status) == (first.id, OrderStatus.FILLED)
    assert len(stored_fills(database_url)) == 1


def test_concurrent_retries_reach_the_broker_once(service, paper, database_url):
    request = OrderRequest("race-1", "MSFT", Side.BUY, 2)
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(service.submit(request))) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert len(paper.submissions) == 1
    assert {r.status for r in results} == {OrderStatus.FILLED} and len(results) == 4


def test_a_reused_client_order_id_for_another_order_is_an_error(service):
    service.submit(OrderRequest("dup-1", "NVDA", Side.BUY, 1))
    with pytest.raises(ClientOrderIdConflict, match="dup-1 already names a different order"):
        service.submit(OrderRequest("dup-1", "NVDA", Side.SELL, 1))


@pytest.mark.parametrize(
    "request_, reason",
    [
        (
            OrderRequest("big-qty", "NVDA", Side.BUY, 101),
            "order quantity 101 exceeds broker.max_order_quantity 100",
        ),
        (
            OrderRequest("big-notional", "MSFT", Side.BUY, 50),
            "MSFT position notional would be $20,500.00",
        ),
    ],
)
def test_an_order_over_a_risk_limit_is_rejected_and_never_sent(
    service, paper, database_url, request_, reason
):
    order = service.submit(request_)
    assert order.status is OrderStatus.REJECTED and reason in order.reason
    assert paper.submissions == []
    assert transitions(database_url, request_.client_order_id) == [
        (None, "new"),
        ("new", "rejected"),
    ]


def test_open_orders_count_towards_the_notional_limit(service, paper):
    assert (
        service.submit(OrderRequest("lmt-a", "MSFT", Side.BUY, 40, OrderType.LIMIT, 400.0)).status
        is OrderStatus.SUBMITTED
    )
    refused = service.submit(OrderRequest("lmt-b", "MSFT", Side.BUY, 20, OrderType.LIMIT, 400.0))
    assert refused.status is OrderStatus.REJECTED and "$24,000.00" in refused.reason
    assert len(paper.submissions) == 1


def test_cancel_and_refresh_of_a_resting_limit_order(service, database_url, clock):
    order = service.submit(OrderRequest("rest-1", "NVDA", Side.BUY, 3, OrderType.LIMIT, 100.0))
    assert service.refresh("rest-1").status is OrderStatus.SUBMITTED
    cancelled = service.cancel("rest-1")
    assert (
        cancelled.status is OrderStatus.CANCELLED
        and cancelled.broker_order_id == order.broker_order_id
    )
    assert service.cancel("rest-1").status is OrderStatus.CANCELLED
    assert transitions(database_url, "rest-1") == [
        (None, "new"),
        ("new", "submitted"),
        ("submitted", "cancelled"),
    ]


def test_without_a_bar_a_limit_order_rests_and_a_market_order_is_refused(service, paper):
    assert (
        service.submit(OrderRequest("nobar-1", "AAPL", Side.BUY, 1, OrderType.LIMIT, 10.0)).status
        is OrderStatus.SUBMITTED
    )
    refused = service.submit(OrderRequest("nobar-2", "AAPL", Side.BUY, 1))
    assert refused.status is OrderStatus.REJECTED and "no mark price for AAPL" in refused.reason
    assert [r.client_order_id for r in paper.submissions] == ["nobar-1"]
