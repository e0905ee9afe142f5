"""ib_async objects decoded from recorded TWS messages (v157), turned into domain updates."""

import ib_async
from ib_async.decoder import Decoder

from dual_ticker.oms.ib_parsing import order_update
from dual_ticker.oms.orders import OrderStatus, Side
from dual_ticker_tests.support import tws_messages as msg
from dual_ticker_tests.support.tws_messages import GatewayOrder

EXEC_DETAILS = (
    "11|-1|3|4815747|NVDA|STK||0.0|||NASDAQ|USD|NVDA|NVDA|000f4241.00000001.01.01|"
    "20250303 15:00:00 UTC|DU1234567|NASDAQ|BOT|10.0|120.0|1000001|7|0|10.0|120.0|c-1||||0"
)
ORDER_FILLED = "3|3|Filled|10.0|0.0|120.0|1000001|0|120.0|7||0.0"
COMMISSION = "59|1|000f4241.00000001.01.01|1.0|USD|||"
REJECTED = "4|2|4|201|Order rejected - reason:Your order is not accepted"


def decoded(*messages):
    """A fresh ib_async client state after decoding the messages, as if they came off the socket."""
    ib = ib_async.IB()
    ib.wrapper.clientId = 7
    decoder = Decoder(ib.wrapper, 157)
    for message in messages:
        decoder.interpret(message if isinstance(message, list) else message.split("|"))
    return ib


def open_order(order_id, status="Submitted"):
    order = GatewayOrder(
        order_id,
        7,
        1_000_000 + order_id - 2,
        "DU1234567",
        "NVDA",
        4815747,
        "BUY",
        10.0,
        "MKT",
        None,
        "DAY",
        "c-1",
        status=status,
    )
    return [str(field) for field in msg.open_order(order)]


def test_a_fill_with_its_commission():
    ib = decoded(open_order(3), EXEC_DETAILS, ORDER_FILLED, COMMISSION)
    (trade,) = ib.trades()
    update = order_update(trade)
    assert (
        update.broker_order_id,
        update.status,
        update.filled_qty,
        update.avg_fill_price,
        update.perm_id,
    ) == ("3", OrderStatus.FILLED, 10, 120.0, 1000001)
    (fill,) = update.fills
    assert (fill.side, fill.quantity, fill.price, fill.commission, str(fill.executed_at)) == (
        Side.BUY,
        10,
        120.0,
        1.0,
        "2025-03-03 15:00:00+00:00",
    )


def test_an_error_201_is_a_rejection_with_its_reason():
    ib = decoded(open_order(4), REJECTED)
    update = order_update(ib.trades()[0])
    assert update.status is OrderStatus.REJECTED
    assert update.reason == "IB error 201: Order rejected - reason:Your order is not accepted"


def test_a_cancel_is_not_a_rejection():
    ib = decoded(
        open_order(5),
        "3|5|Cancelled|0.0|10.0|0.0|1000003|0|0.0|7||0.0",
        "4|2|5|202|Order Canceled - reason:",
    )
    update = order_update(ib.trades()[0])
    assert (update.status, update.reason, update.broker_status) == (
        OrderStatus.CANCELLED,
        None,
        "Cancelled",
    )


def test_a_working_order_with_some_fills_is_partially_filled():
    ib = decoded(open_order(6), "3|6|Submitted|4.0|6.0|120.0|1000004|0|120.0|7||0.0")
    assert order_update(ib.trades()[0]).status is OrderStatus.PARTIALLY_FILLED
