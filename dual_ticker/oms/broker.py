"""The broker interface: the paper broker and Interactive Brokers are interchangeable behind it."""

from __future__ import annotations

import abc

from dual_ticker.oms.orders import BrokerOrderUpdate, BrokerPosition, OrderRequest


class BrokerUnavailable(RuntimeError):
    """The broker cannot be reached; the message says where and what to do."""


class Broker(abc.ABC):
    """Places and cancels orders and reports their state and the account's positions.

    `submit` must be idempotent on the client order id: a broker that already holds an order
    with that id reports it instead of placing a second one.
    """

    name: str

    @abc.abstractmethod
    def account(self) -> str:
        """The account orders go to."""

    @abc.abstractmethod
    def submit(self, request: OrderRequest) -> BrokerOrderUpdate:
        """Places the order; returns its state once the broker acknowledged it."""

    @abc.abstractmethod
    def cancel(self, broker_order_id: str) -> BrokerOrderUpdate | None:
        """Asks to cancel; the order's state afterwards (None if the broker does not know it)."""

    @abc.abstractmethod
    def order_status(
        self, broker_order_id: str, wait_seconds: float = 0.0
    ) -> BrokerOrderUpdate | None:
        """The order's current state, waiting up to `wait_seconds` for it to change or finish."""

    @abc.abstractmethod
    def positions(self) -> list[BrokerPosition]:
        """Open positions of the account (quantity != 0)."""

    def close(self) -> None:  # noqa: B027 (most brokers hold nothing to release)
        """Releases connections; the broker may be used again afterwards."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
