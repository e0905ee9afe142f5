"""The Interactive Brokers broker on ib_async: places and cancels stock orders (the client order id
travels as IB's orderRef) and reports order status, executions and positions."""

from __future__ import annotations

import ib_async

from dual_ticker.oms.broker import Broker, BrokerUnavailable
from dual_ticker.oms.ib_connection import IBConnection
from dual_ticker.oms.ib_parsing import (
    DONE,
    PENDING,
    broker_position,
    commissions_complete,
    ib_status,
    order_update,
    update_from_executions,
)
from dual_ticker.oms.orders import BrokerOrderUpdate, BrokerPosition, OrderRequest, OrderType


class IBBroker(Broker):
    name = "ib"

    def __init__(
        self, connection: IBConnection, ack_timeout: float = 5.0, market_fill_timeout: float = 5.0
    ):
        self.connection = connection
        self.ack_timeout = ack_timeout
        self.market_fill_timeout = market_fill_timeout
        self._reported: dict[
            int, tuple
        ] = {}  # order id -> (status, filled, executions) last reported

    @property
    def ib(self) -> ib_async.IB:
        return self.connection.ib

    def account(self) -> str:
        self.connection.ensure_connected()
        return self.connection.account

    def account_values(
        self, tags=("NetLiquidation", "TotalCashValue", "BuyingPower")
    ) -> dict[str, str]:
        self.connection.ensure_connected()
        values = self.ib.accountValues(self.connection.account)
        return {v.tag: f"{v.value} {v.currency}".strip() for v in values if v.tag in tags}

    def submit(self, request: OrderRequest) -> BrokerOrderUpdate:
        """Places the order unless IB already holds one with this client order id (then reports it).

        Waits for IB's acknowledgement; a market order also for its fill, up to market_fill_timeout
        (one IB holds, e.g. outside regular hours, comes back unfilled and stays working).
        """
        self.connection.ensure_connected()
        known = self._by_client_order_id(request.client_order_id)
        if known is not None:
            return known
        if request.order_type is OrderType.LIMIT:
            order = ib_async.LimitOrder(request.side.value, request.quantity, request.limit_price)
        else:
            order = ib_async.MarketOrder(request.side.value, request.quantity)
        order.orderRef = request.client_order_id
        order.account = self.connection.account
        order.tif = "DAY"
        try:
            trade = self.ib.placeOrder(ib_async.Stock(request.symbol, "SMART", "USD"), order)
        except ConnectionError:
            raise BrokerUnavailable(
                f"IB connection to {self.connection.where} lost before the order "
                "was sent; retry with the same client order id"
            ) from None
        self.connection.wait_until(lambda: ib_status(trade) not in PENDING, self.ack_timeout)
        if request.order_type is OrderType.MARKET:
            self.connection.wait_until(lambda: ib_status(trade) in DONE, self.market_fill_timeout)
        self.connection.wait_until(lambda: commissions_complete(trade.fills), self.ack_timeout)
        return self._report(trade)

    def order_status(
        self, broker_order_id: str, wait_seconds: float = 0.0
    ) -> BrokerOrderUpdate | None:
        """Waits (up to `wait_seconds`) only while nothing changed since the last report."""
        self.connection.ensure_connected()
        order_id = int(broker_order_id)
        trade = self._trade(order_id)
        if trade is None:
            fills = self._fills(order_id)
            return update_from_executions(order_id, fills) if fills else None
        if wait_seconds > 0:
            reported = self._reported.get(order_id)
            self.connection.wait_until(
                lambda: self._snapshot(trade) != reported or ib_status(trade) in DONE,
                wait_seconds,
            )
            self.connection.wait_until(
                lambda: commissions_complete(self._fills(order_id)), self.ack_timeout
            )
        return self._report(trade)

    def cancel(self, broker_order_id: str) -> BrokerOrderUpdate | None:
        self.connection.ensure_connected()
        trade = self._trade(int(broker_order_id))
        if trade is None:
            return self.order_status(broker_order_id)
        if ib_status(trade) not in DONE:
            self.ib.cancelOrder(trade.order)
            self.connection.wait_until(lambda: ib_status(trade) in DONE, self.ack_timeout)
        return self._report(trade)

    def positions(self) -> list[BrokerPosition]:
        """A fresh snapshot from IB (reqPositions), stock positions of the account only."""
        self.connection.ensure_connected()
        self.connection.call(self.ib.reqPositionsAsync, "positions")
        return sorted(
            (
                broker_position(p)
                for p in self.ib.positions(self.connection.account)
                if p.position and p.contract.secType == "STK"
            ),
            key=lambda p: p.symbol,
        )

    def close(self) -> None:
        self.connection.close()

    def _snapshot(self, trade: ib_async.Trade) -> tuple:
        return (
            ib_status(trade),
            trade.orderStatus.filled,
            len(self._fills(trade.order.orderId)),
        )

    def _report(self, trade: ib_async.Trade) -> BrokerOrderUpdate:
        self._reported[trade.order.orderId] = self._snapshot(trade)
        return order_update(trade, self._fills(trade.order.orderId))

    def _trade(self, order_id: int) -> ib_async.Trade | None:
        for trade in self.ib.trades():
            if (
                trade.order.orderId == order_id
                and trade.order.clientId == self.connection.client_id
            ):
                return trade
        return None

    def _fills(self, order_id: int) -> list[ib_async.Fill]:
        return [
            f
            for f in self.ib.fills()
            if f.execution.orderId == order_id and f.execution.clientId == self.connection.client_id
        ]

    def _by_client_order_id(self, client_order_id: str) -> BrokerOrderUpdate | None:
        for trade in self.ib.trades():
            if trade.order.orderRef == client_order_id:
                return order_update(trade, self._fills(trade.order.orderId))
        fills = [f for f in self.ib.fills() if f.execution.orderRef == client_order_id]
        return update_from_executions(fills[0].execution.orderId, fills) if fills else None
