"""Pre-trade risk limits, checked before an order is sent: order quantity and position notional."""

from __future__ import annotations

from dataclasses import dataclass

from dual_ticker.oms.orders import OrderRefused, OrderRequest, OrderType


class RiskLimitExceeded(OrderRefused):
    pass


@dataclass(frozen=True)
class RiskLimits:
    max_order_quantity: float
    max_position_notional: float

    @classmethod
    def from_settings(cls, broker_settings) -> RiskLimits:
        return cls(broker_settings.max_order_quantity, broker_settings.max_position_notional)


def check_order(
    request: OrderRequest,
    limits: RiskLimits,
    position_qty: float,
    pending_qty: float,
    mark_price: float | None,
) -> None:
    """Raises RiskLimitExceeded with the reason when the order breaks a limit.

    The notional is the position after this order and the open orders of the symbol
    (`pending_qty`, signed) fill, valued at the limit price of a LMT order or the mark price of
    a MKT one. An order that shrinks the exposure always passes the notional limit.
    """
    if request.quantity > limits.max_order_quantity:
        raise RiskLimitExceeded(
            f"order quantity {request.quantity:g} exceeds broker.max_order_quantity "
            f"{limits.max_order_quantity:g}; split the order or raise the limit in config"
        )
    price = request.limit_price if request.order_type is OrderType.LIMIT else mark_price
    if price is None:
        raise RiskLimitExceeded(
            f"no mark price for {request.symbol} (no bar in dual_ticker_bars) to check the "
            "notional "
            "of a market order; load bars first or send a limit order"
        )
    before = abs(position_qty + pending_qty)
    after = abs(position_qty + pending_qty + request.signed_quantity)
    notional = after * price
    if after > before and notional > limits.max_position_notional:
        raise RiskLimitExceeded(
            f"{request.symbol} position notional would be ${notional:,.2f} (qty {after:g} at "
            f"${price:,.2f}), above broker.max_position_notional "
            f"${limits.max_position_notional:,.2f}"
        )
