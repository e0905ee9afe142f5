"""The order domain: requests, the status state machine, average-cost positions."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dual_ticker.oms.cost_basis import position_from_executions
from dual_ticker.oms.orders import OrderRequest, OrderStatus, OrderType, Side, can_transition

S = OrderStatus


def test_request_normalises_and_validates():
    request = OrderRequest("a-1", "nvda", "BUY", 5, "LMT", 100.0)
    assert (request.symbol, request.side, request.order_type, request.signed_quantity) == (
        "NVDA",
        Side.BUY,
        OrderType.LIMIT,
        5,
    )
    assert OrderRequest("a-2", "MSFT", Side.SELL, 3).signed_quantity == -3
    with pytest.raises(ValueError, match="limit price is required"):
        OrderRequest("a-3", "NVDA", Side.BUY, 1, OrderType.LIMIT)
    with pytest.raises(ValueError, match="not allowed for MKT"):
        OrderRequest("a-4", "NVDA", Side.BUY, 1, OrderType.MARKET, 10.0)
    with pytest.raises(ValueError, match="positive"):
        OrderRequest("a-5", "NVDA", Side.BUY, 0)
    with pytest.raises(ValueError, match="client order id"):
        OrderRequest("has space", "NVDA", Side.BUY, 1)


@pytest.mark.parametrize(
    "current, target, allowed",
    [
        (S.NEW, S.SUBMITTED, True),
        (S.NEW, S.REJECTED, True),
        (S.NEW, S.CANCELLED, True),
        (S.NEW, S.FILLED, False),
        (S.SUBMITTED, S.PARTIALLY_FILLED, True),
        (S.SUBMITTED, S.FILLED, True),
        (S.SUBMITTED, S.CANCELLED, True),
        (S.SUBMITTED, S.REJECTED, True),
        (S.PARTIALLY_FILLED, S.PARTIALLY_FILLED, True),
        (S.PARTIALLY_FILLED, S.FILLED, True),
        (S.PARTIALLY_FILLED, S.CANCELLED, True),
        (S.PARTIALLY_FILLED, S.REJECTED, False),
        (S.FILLED, S.CANCELLED, False),
        (S.CANCELLED, S.FILLED, False),
        (S.REJECTED, S.SUBMITTED, False),
        (S.SUBMITTED, S.NEW, False),
    ],
)
def test_state_machine(current, target, allowed):
    assert can_transition(current, target) is allowed


def test_terminal_states():
    assert {s for s in OrderStatus if s.is_terminal} == {S.FILLED, S.CANCELLED, S.REJECTED}


def test_average_cost_adds_reduces_and_crosses_zero():
    assert position_from_executions([(10, 100.0), (10, 110.0)]) == (20, 105.0)
    assert position_from_executions([(10, 100.0), (-4, 130.0)]) == (6, 100.0)
    assert position_from_executions([(10, 100.0), (-10, 130.0)]) == (0.0, 0.0)
    assert position_from_executions([(10, 100.0), (-15, 130.0)]) == (-5, 130.0)
    assert position_from_executions([(-5, 50.0), (-5, 40.0)]) == (-10, 45.0)


@given(st.lists(st.tuples(st.integers(-50, 50).filter(bool), st.integers(1, 500)), max_size=30))
def test_position_quantity_is_the_sum_of_executions(executions):
    qty, avg = position_from_executions([(q, float(p)) for q, p in executions])
    assert qty == pytest.approx(sum(q for q, _ in executions))
    assert (avg == 0) == (qty == 0)
    if qty:
        assert 1 <= avg <= 500
