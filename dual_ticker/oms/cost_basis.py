"""Average-cost positions from a sequence of executions."""

from __future__ import annotations

from collections.abc import Iterable


def apply_execution(
    qty: float, avg_price: float, signed_qty: float, price: float
) -> tuple[float, float]:
    """The (quantity, average price) after one execution of `signed_qty` (+ buy, - sell) at `price`.

    Adding to a position averages the price in; reducing keeps it; crossing zero starts a new
    position at the execution price; a flat position has average price 0.
    """
    new_qty = qty + signed_qty
    if abs(new_qty) < 1e-9:
        return 0.0, 0.0
    if qty == 0 or (qty > 0) == (signed_qty > 0):
        return new_qty, (qty * avg_price + signed_qty * price) / new_qty
    if (new_qty > 0) == (qty > 0):
        return new_qty, avg_price
    return new_qty, price


def position_from_executions(executions: Iterable[tuple[float, float]]) -> tuple[float, float]:
    """(quantity, average price) from (signed quantity, price) pairs in execution order."""
    qty, avg_price = 0.0, 0.0
    for signed_qty, price in executions:
        qty, avg_price = apply_execution(qty, avg_price, signed_qty, price)
    return qty, avg_price
