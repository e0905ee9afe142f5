"""The paper broker fills at the latest dual_ticker_bars close with slippage and commission."""

import pandas as pd
import pytest

from dual_ticker.oms.orders import BrokerPosition, OrderRequest, OrderStatus, OrderType, Side
from dual_ticker.oms.paper_broker import PaperBroker
from dual_ticker_tests.oms.conftest import NOW, add_bars


@pytest.fixture
def paper(database_url, clock):
    add_bars(database_url, {"NVDA": 100.0, "MSFT": 400.0}, at=NOW - pd.Timedelta(minutes=2))
    add_bars(database_url, {"NVDA": 120.0, "MSFT": 410.0})
    add_bars(database_url, {"NVDA": 999.0}, at=NOW)  # starts at "now": not yet a bar to fill at
    return PaperBroker(database_url, clock, slippage_bps=10.0, commission_per_share=0.01)


def test_market_orders_fill_at_the_latest_close_with_slippage_and_commission(paper, clock):
    bought = paper.submit(OrderRequest("p-1", "NVDA", Side.BUY, 10))
    assert bought.status is OrderStatus.FILLED
    assert (bought.filled_qty, bought.avg_fill_price) == (10, 120.12)  # 120 + 10 bps
    (fill,) = bought.fills
    assert (
        fill.symbol,
        fill.side,
        fill.quantity,
        fill.price,
        fill.commission,
        fill.executed_at,
    ) == ("NVDA", Side.BUY, 10, 120.12, 0.1, clock.now())
    sold = paper.submit(OrderRequest("p-2", "MSFT", Side.SELL, 4))
    assert sold.avg_fill_price == 409.59  # 410 - 10 bps
    assert paper.positions() == [
        BrokerPosition("MSFT", -4, 409.59),
        BrokerPosition("NVDA", 10, 120.12),
    ]


def test_a_limit_order_rests_until_the_latest_close_makes_it_marketable(paper, database_url, clock):
    resting = paper.submit(OrderRequest("p-3", "NVDA", Side.BUY, 5, OrderType.LIMIT, 110.0))
    assert (resting.status, resting.fills) == (OrderStatus.SUBMITTED, ())
    assert paper.order_status(resting.broker_order_id).status is OrderStatus.SUBMITTED
    add_bars(database_url, {"NVDA": 105.0}, at=NOW + pd.Timedelta(minutes=1))
    clock.advance(minutes=2)
    filled = paper.order_status(resting.broker_order_id)
    assert (filled.status, filled.avg_fill_price) == (OrderStatus.FILLED, 105.105)
    assert paper.positions() == [BrokerPosition("NVDA", 5, 105.105)]


def test_cancel_and_idempotent_submit(paper):
    request = OrderRequest("p-4", "NVDA", Side.SELL, 5, OrderType.LIMIT, 500.0)
    resting = paper.submit(request)
    assert paper.cancel(resting.broker_order_id).status is OrderStatus.CANCELLED
    again = paper.submit(request)  # the same client order id: the order it holds, not a new one
    assert (again.broker_order_id, again.status) == (resting.broker_order_id, OrderStatus.CANCELLED)
    assert paper.cancel("999999") is None and paper.order_status("nope") is None


def test_a_market_order_without_a_bar_is_rejected(paper):
    rejected = paper.submit(OrderRequest("p-5", "AAPL", Side.BUY, 1))
    assert rejected.status is OrderStatus.REJECTED
    assert rejected.reason == "no bar for AAPL in dual_ticker_bars to fill at; load bars first"
    assert paper.positions() == []


@pytest.mark.parametrize(
    ("side", "within_close", "at_slipped_price"),
    [(Side.BUY, 120.05, 120.12), (Side.SELL, 119.95, 119.88)],
)
def test_a_limit_is_checked_against_the_slipped_price_not_the_close(
    paper, side, within_close, at_slipped_price
):
    # The latest NVDA close is 120.00 and slippage 10 bps: a fill would cost 120.12 (buy) or
    # bring 119.88 (sell). A limit the close satisfies but the slipped price does not rests.
    resting = paper.submit(OrderRequest("p-6", "NVDA", side, 5, OrderType.LIMIT, within_close))
    assert (resting.status, resting.fills) == (OrderStatus.SUBMITTED, ())
    assert paper.order_status(resting.broker_order_id).status is OrderStatus.SUBMITTED
    assert paper.positions() == []
    filled = paper.submit(OrderRequest("p-7", "NVDA", side, 5, OrderType.LIMIT, at_slipped_price))
    assert (filled.status, filled.avg_fill_price) == (OrderStatus.FILLED, at_slipped_price)
