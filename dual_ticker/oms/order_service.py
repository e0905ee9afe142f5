"""Submits, cancels and refreshes orders: risk first, one broker call per client order id, every
transition and execution stored."""

from __future__ import annotations

import logging

from dual_ticker.clock import Clock
from dual_ticker.oms import order_store
from dual_ticker.oms.broker import Broker
from dual_ticker.oms.market_prices import latest_closes
from dual_ticker.oms.orders import (
    BrokerOrderUpdate,
    Order,
    OrderRefused,
    OrderRequest,
    OrderStatus,
    can_transition,
)
from dual_ticker.oms.risk import RiskLimits, check_order
from dual_ticker.storage.database import transaction

logger = logging.getLogger(__name__)


class ClientOrderIdConflict(ValueError):
    """A client order id reused for a different order."""


class UnknownOrder(KeyError):
    pass


def _same_request(a: OrderRequest, b: OrderRequest) -> bool:
    def close(x, y) -> bool:
        return (x is None and y is None) or (x is not None and y is not None and abs(x - y) < 5e-5)

    return (
        (a.symbol, a.side, a.order_type) == (b.symbol, b.side, b.order_type)
        and close(a.quantity, b.quantity)
        and close(a.limit_price, b.limit_price)
    )


class OrderService:
    def __init__(self, database_url: str, broker: Broker, clock: Clock, limits: RiskLimits):
        self.database_url = database_url
        self.broker = broker
        self.clock = clock
        self.limits = limits

    def submit(self, request: OrderRequest) -> Order:
        """Sends the order once: a retry with the same client order id returns the stored order.

        The claim (status new) commits first; sending happens under the row's lock, so concurrent
        retries wait and then find the order no longer new. A refused order is stored as rejected.
        """
        with transaction(self.database_url) as connection:
            order, _ = order_store.claim(connection, request, self.broker.name, self.clock.now())
        if not _same_request(order.request, request) or order.broker != self.broker.name:
            raise ClientOrderIdConflict(
                f"client order id {request.client_order_id} already names a different order "
                f"({order.request.side} {order.request.quantity:g} {order.request.symbol} "
                f"at {order.broker}); "
                "use a new id"
            )
        with transaction(self.database_url) as connection:
            order = order_store.load(connection, request.client_order_id, lock=True)
            if order.status is not OrderStatus.NEW:
                return order
            try:
                self._check_risk(connection, order)
                update = self.broker.submit(order.request)
            except OrderRefused as exc:
                logger.warning("order %s refused: %s", order.client_order_id, exc)
                return order_store.record_transition(
                    connection, order, OrderStatus.REJECTED, self.clock.now(), reason=str(exc)
                )
            order = order_store.record_transition(
                connection,
                order,
                OrderStatus.SUBMITTED,
                self.clock.now(),
                broker_order_id=update.broker_order_id,
                perm_id=update.perm_id,
                broker_status="sent",
            )
            return self._apply(connection, order, update)

    def cancel(self, client_order_id: str) -> Order:
        with transaction(self.database_url) as connection:
            order = self._load(connection, client_order_id, lock=True)
            if order.status.is_terminal:
                return order
            if order.status is OrderStatus.NEW:
                return order_store.record_transition(
                    connection,
                    order,
                    OrderStatus.CANCELLED,
                    self.clock.now(),
                    reason="cancelled before it was sent",
                )
            update = self.broker.cancel(order.broker_order_id)
            return order if update is None else self._apply(connection, order, update)

    def refresh(self, client_order_id: str, wait_seconds: float = 0.0) -> Order:
        """Stores what the broker now reports (waiting up to `wait_seconds` for news)."""
        with transaction(self.database_url) as connection:
            order = self._load(connection, client_order_id)
        if order.status.is_terminal or order.broker_order_id is None:
            return order
        update = self.broker.order_status(order.broker_order_id, wait_seconds)
        if update is None:
            return order
        with transaction(self.database_url) as connection:
            return self._apply(
                connection, self._load(connection, client_order_id, lock=True), update
            )

    def refresh_open_orders(self, wait_seconds: float = 0.0) -> list[Order]:
        """Reconciles every working order with the broker (e.g. one held, filled or cancelled
        since it was sent)."""
        with transaction(self.database_url) as connection:
            ids = order_store.working_order_ids(connection, self.broker.name)
        return [self.refresh(client_order_id, wait_seconds) for client_order_id in ids]

    def _load(self, connection, client_order_id: str, lock: bool = False) -> Order:
        order = order_store.load(connection, client_order_id, lock=lock)
        if order is None:
            raise UnknownOrder(f"no order with client order id {client_order_id}")
        return order

    def _check_risk(self, connection, order: Order) -> None:
        symbol = order.request.symbol
        position = {p.symbol: p.qty for p in self.broker.positions()}.get(symbol, 0.0)
        pending = order_store.pending_quantity(connection, symbol, self.broker.name, order.id)
        mark = latest_closes(connection, [symbol], as_of=self.clock.now()).get(symbol)
        check_order(order.request, self.limits, position, pending, mark)

    def _apply(self, connection, order: Order, update: BrokerOrderUpdate) -> Order:
        """Stores the broker's report: new executions, then the transition if it is one."""
        if update.fills:
            order_store.record_fills(connection, order, update.fills)
        target = update.status
        if (
            target is OrderStatus.PARTIALLY_FILLED
            and update.filled_qty >= order.request.quantity - 1e-9
        ):
            target = (
                OrderStatus.FILLED
            )  # executions alone (no live order left) that cover the quantity
        more_fills = target is OrderStatus.PARTIALLY_FILLED and update.filled_qty > order.filled_qty
        if target is order.status and not more_fills:
            return order_store.load(connection, order.client_order_id)
        if not can_transition(order.status, target):
            logger.warning(
                "order %s: ignoring broker status %s after %s",
                order.client_order_id,
                target.value,
                order.status.value,
            )
            return order_store.load(connection, order.client_order_id)
        return order_store.record_transition(
            connection,
            order,
            target,
            self.clock.now(),
            filled_qty=update.filled_qty,
            avg_fill_price=update.avg_fill_price,
            perm_id=update.perm_id,
            broker_status=update.broker_status,
            reason=update.reason,
        )
