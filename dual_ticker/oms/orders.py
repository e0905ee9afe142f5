"""The order domain: requests, the status state machine, and what a broker reports back."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

import pandas as pd


class Side(enum.StrEnum):
    BUY = "BUY"
    SELL = "SELL"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1


class OrderType(enum.StrEnum):
    MARKET = "MKT"
    LIMIT = "LMT"


class OrderStatus(enum.StrEnum):
    NEW = "new"
    SUBMITTED = "submitted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"

    @property
    def is_terminal(self) -> bool:
        return self in (OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED)


# NEW -> CANCELLED: withdrawn before it was sent. PARTIALLY_FILLED -> itself: more fills.
_ALLOWED = {
    OrderStatus.NEW: {OrderStatus.SUBMITTED, OrderStatus.REJECTED, OrderStatus.CANCELLED},
    OrderStatus.SUBMITTED: {
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.FILLED,
        OrderStatus.CANCELLED,
        OrderStatus.REJECTED,
    },
    OrderStatus.PARTIALLY_FILLED: {
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.FILLED,
        OrderStatus.CANCELLED,
    },
}


def can_transition(current: OrderStatus, target: OrderStatus) -> bool:
    return target in _ALLOWED.get(current, set())


class OrderRefused(RuntimeError):
    """An order that must not reach the broker (risk, live-trading safety); stored as rejected."""


_CLIENT_ORDER_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


@dataclass(frozen=True)
class OrderRequest:
    """What the caller asks for; `client_order_id` makes a retried submission a no-op."""

    client_order_id: str
    symbol: str
    side: Side
    quantity: float
    order_type: OrderType = OrderType.MARKET
    limit_price: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "side", Side(self.side))
        object.__setattr__(self, "order_type", OrderType(self.order_type))
        object.__setattr__(self, "symbol", self.symbol.upper())
        if not _CLIENT_ORDER_ID.match(self.client_order_id):
            raise ValueError(
                f"client order id {self.client_order_id!r}: use 1-64 of A-Z a-z 0-9 . _ : -"
            )
        if not self.quantity > 0:
            raise ValueError(f"order quantity must be positive, got {self.quantity}")
        if (self.order_type is OrderType.LIMIT) != (self.limit_price is not None):
            raise ValueError(
                "a limit price is required for LMT orders and not allowed for MKT orders"
            )
        if self.limit_price is not None and not self.limit_price > 0:
            raise ValueError(f"limit price must be positive, got {self.limit_price}")

    @property
    def signed_quantity(self) -> float:
        return self.side.sign * self.quantity


@dataclass(frozen=True)
class FillReport:
    """One execution as the broker reports it."""

    exec_id: str
    symbol: str
    side: Side
    quantity: float
    price: float
    commission: float | None
    executed_at: pd.Timestamp


@dataclass(frozen=True)
class BrokerOrderUpdate:
    """The broker's view of one order: status, cumulative fill, and the executions it knows of."""

    broker_order_id: str
    status: OrderStatus
    filled_qty: float = 0.0
    avg_fill_price: float | None = None
    perm_id: int | None = None
    broker_status: str | None = None
    reason: str | None = None
    fills: tuple[FillReport, ...] = ()


@dataclass(frozen=True)
class BrokerPosition:
    symbol: str
    qty: float
    avg_price: float


@dataclass(frozen=True)
class Order:
    """An order as stored."""

    id: int
    request: OrderRequest
    status: OrderStatus
    broker: str
    broker_order_id: str | None = None
    perm_id: int | None = None
    filled_qty: float = 0.0
    avg_fill_price: float | None = None
    reason: str | None = None
    created_at: pd.Timestamp | None = None
    updated_at: pd.Timestamp | None = None
    fills: tuple[FillReport, ...] = field(default=())

    @property
    def client_order_id(self) -> str:
        return self.request.client_order_id

    @property
    def remaining_qty(self) -> float:
        return 0.0 if self.status.is_terminal else self.request.quantity - self.filled_qty
