"""The IB broker with the real ib_async client over loopback TCP to the TWS gateway fake."""

import socket
import time

import pytest

from dual_ticker.oms.broker import BrokerUnavailable
from dual_ticker.oms.ib_connection import ClientIdInUse, IBConnection
from dual_ticker.oms.orders import BrokerPosition, OrderRequest, OrderStatus, OrderType, Side
from dual_ticker.oms.trading_mode import LiveTradingRefused, TradingPermission
from dual_ticker_tests.oms.conftest import ib_broker


def market(coid, symbol="NVDA", qty=10, side=Side.BUY):
    return OrderRequest(coid, symbol, side, qty)


def limit(coid, price, qty=5, symbol="NVDA", side=Side.BUY):
    return OrderRequest(coid, symbol, side, qty, OrderType.LIMIT, price)


def test_connect_handshake_accounts_and_startup_sync(gateway):
    started = time.monotonic()
    with ib_broker(gateway) as broker:
        assert broker.account() == "DU1234567"
        assert (
            time.monotonic() - started < 1.0
        )  # every startup request was answered (no timeout waits)
        assert broker.account_values() == {
            "NetLiquidation": "100000.00 USD",
            "TotalCashValue": "100000.00 USD",
            "BuyingPower": "1000000.00 USD",
        }
        received = [fields[0] for _, fields in gateway.received]
        assert received[0] == "71" and {"61", "5", "99", "6", "76", "7"} <= set(received)
        assert gateway.messages(71)[0][2] == "7"  # our client id
        first = broker.submit(limit("hs-1", 1.0))
        assert first.broker_order_id == "3"  # nextValidId 1; connect used request ids 1 and 2


def test_positions_are_synced_from_the_gateway(gateway):
    gateway.book[("DU1234567", "MSFT")] = (25.0, 400.0)
    with ib_broker(gateway) as broker:
        assert broker.positions() == [BrokerPosition("MSFT", 25, 400.0)]
        broker.submit(market("pos-1", qty=10))
        assert broker.positions() == [
            BrokerPosition("MSFT", 25, 400.0),
            BrokerPosition("NVDA", 10, 120.0),
        ]


def test_a_market_order_fills_with_commission(gateway):
    with ib_broker(gateway) as broker:
        update = broker.submit(market("mkt-1", qty=300))
    assert (update.status, update.filled_qty, update.avg_fill_price) == (
        OrderStatus.FILLED,
        300,
        120.0,
    )
    assert update.perm_id == gateway.orders[3].perm_id and update.broker_status == "Filled"
    (fill,) = update.fills
    assert (fill.symbol, fill.side, fill.quantity, fill.price, fill.commission) == (
        "NVDA",
        Side.BUY,
        300,
        120.0,
        1.5,
    )
    assert fill.exec_id == gateway.executions[0].exec_id
    assert gateway.messages(3)[0][26] == "mkt-1"  # the client order id travels as orderRef


def test_a_resting_limit_order_is_cancelled(gateway):
    with ib_broker(gateway) as broker:
        resting = broker.submit(limit("lmt-1", 100.0))
        assert (resting.status, resting.filled_qty, resting.broker_status) == (
            OrderStatus.SUBMITTED,
            0,
            "Submitted",
        )
        cancelled = broker.cancel(resting.broker_order_id)
    assert cancelled.status is OrderStatus.CANCELLED and cancelled.reason is None
    assert gateway.messages(4) == [["4", "1", resting.broker_order_id]]
    assert gateway.orders[int(resting.broker_order_id)].status == "Cancelled"


def test_rejection_201_and_unknown_contract_200(gateway):
    with ib_broker(gateway) as broker:
        rejected = broker.submit(limit("big-1", 150.0, qty=10_000))  # $1.5M over $1M buying power
        unknown = broker.submit(market("zz-1", symbol="ZZZZ", qty=1))
    assert rejected.status is OrderStatus.REJECTED
    assert rejected.reason.startswith(
        "IB error 201: Order rejected - reason:Your order is not accepted"
    )
    assert unknown.status is OrderStatus.REJECTED
    assert unknown.reason == "IB error 200: No security definition has been found for the request"


def test_partial_fills_are_reported(gateway):
    with ib_broker(gateway) as broker:
        resting = broker.submit(limit("part-1", 100.0, qty=10))
        gateway.fill(int(resting.broker_order_id), 4, price=99.0)
        partial = broker.order_status(resting.broker_order_id, wait_seconds=2)
        assert (partial.status, partial.filled_qty, len(partial.fills)) == (
            OrderStatus.PARTIALLY_FILLED,
            4,
            1,
        )
        gateway.fill(int(resting.broker_order_id), 6, price=98.0)
        done = broker.order_status(resting.broker_order_id, wait_seconds=2)
    assert (done.status, done.filled_qty, done.avg_fill_price, len(done.fills)) == (
        OrderStatus.FILLED,
        10,
        98.4,
        2,
    )
    assert all(f.commission == 1.0 for f in done.fills)


def test_submit_is_idempotent_on_the_client_order_id_across_a_reconnect(gateway):
    with ib_broker(gateway) as broker:
        first = broker.submit(limit("idem-1", 100.0))
        assert broker.submit(limit("idem-1", 100.0)).broker_order_id == first.broker_order_id
        gateway.drop_connections()
        again = broker.submit(limit("idem-1", 100.0))  # known from the replayed open orders
    assert again.broker_order_id == first.broker_order_id
    assert gateway.placed_order_ids == [int(first.broker_order_id)]


def test_a_dropped_connection_reconnects_and_rebuilds_state_from_the_replay(gateway):
    with ib_broker(gateway) as broker:
        filled = broker.submit(market("drop-1", qty=10))
        resting = broker.submit(limit("drop-2", 100.0, qty=5))
        gateway.drop_connections()
        assert broker.positions() == [
            BrokerPosition("NVDA", 10, 120.0)
        ]  # reconnected, positions replayed
        assert broker.connection.connects == 2 and gateway.accepted_connections == 2
        replayed = broker.order_status(resting.broker_order_id)
        assert (replayed.status, replayed.perm_id) == (OrderStatus.SUBMITTED, resting.perm_id)
        executions = broker.order_status(filled.broker_order_id)  # done before this connection
        assert (executions.filled_qty, executions.fills[0].commission) == (10, 1.0)
        assert broker.cancel(resting.broker_order_id).status is OrderStatus.CANCELLED


def test_connect_times_out_when_nothing_answers():
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        connection = IBConnection("127.0.0.1", silent.getsockname()[1], 9, timeout=0.3)
        started = time.monotonic()
        with pytest.raises(
            BrokerUnavailable, match="did not complete the API handshake within 0.3 s"
        ):
            connection.connect()
        assert time.monotonic() - started < 2


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_nothing_listening_is_reported_and_reconnects_back_off():
    delays = []
    connection = IBConnection(
        "127.0.0.1",
        closed_port(),
        9,
        timeout=0.5,
        reconnect_attempts=3,
        reconnect_backoff=0.25,
        sleep=delays.append,
    )
    with pytest.raises(
        BrokerUnavailable, match=r"couldn't connect to IB .*\(gave up after 3 attempts\)"
    ) as failed:
        connection.ensure_connected()
    assert delays == [0.25, 0.5]
    assert "\n" not in str(failed.value)


def test_a_client_id_in_use_is_refused_at_once(gateway):
    with ib_broker(gateway, client_id=5) as first:
        first.account()
        second = IBConnection(gateway.host, gateway.port, 5, timeout=3.0)
        started = time.monotonic()
        with pytest.raises(
            ClientIdInUse, match="client id 5: already in use \\(error 326\\); set IB_CLIENT_ID"
        ):
            second.connect()
        assert time.monotonic() - started < 1.0


def test_live_ports_are_refused_before_connecting():
    with pytest.raises(LiveTradingRefused, match="refusing port 4001"):
        IBConnection("127.0.0.1", 4001, 1)
    with pytest.raises(LiveTradingRefused, match="refusing port 7496"):
        IBConnection("127.0.0.1", 7496, 1, permission=TradingPermission(live_trading_enabled=True))
    with pytest.raises(LiveTradingRefused, match="refusing account"):
        IBConnection("127.0.0.1", 4002, 1, account="U1234567")
