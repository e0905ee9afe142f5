"""The paper broker (offline default): fills at the latest dual_ticker_bars close with slippage and
a per-share commission, keeping its own book in the paper_orders and paper_executions tables."""

from __future__ import annotations

from collections import defaultdict

import pandas as pd

from dual_ticker.clock import Clock
from dual_ticker.oms.broker import Broker
from dual_ticker.oms.cost_basis import apply_execution
from dual_ticker.oms.market_prices import latest_closes
from dual_ticker.oms.orders import (
    BrokerOrderUpdate,
    BrokerPosition,
    FillReport,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
)
from dual_ticker.storage.database import transaction

_STATUS = {
    "working": OrderStatus.SUBMITTED,
    "filled": OrderStatus.FILLED,
    "cancelled": OrderStatus.CANCELLED,
    "rejected": OrderStatus.REJECTED,
}


class PaperBroker(Broker):
    name = "paper"

    def __init__(
        self,
        database_url: str,
        clock: Clock,
        slippage_bps: float = 1.0,
        commission_per_share: float = 0.005,
        account: str = "PAPER",
    ):
        self.database_url = database_url
        self.clock = clock
        self.slippage_bps = slippage_bps
        self.commission_per_share = commission_per_share
        self._account = account
        self.submissions: list[OrderRequest] = []  # every request that reached this broker

    def account(self) -> str:
        return self._account

    def fill_price(self, side: Side, close: float) -> float:
        """The close moved against the order by the slippage."""
        return round(close * (1 + side.sign * self.slippage_bps / 10_000), 4)

    def submit(self, request: OrderRequest) -> BrokerOrderUpdate:
        self.submissions.append(request)
        with transaction(self.database_url) as connection, connection.cursor() as cursor:
            cursor.execute(
                """INSERT INTO paper_orders (client_order_id, symbol, side, quantity, order_type,
                                             limit_price, status, received_at)
                   VALUES (%s, %s, %s, %s, %s, %s, 'working', %s)
                   ON CONFLICT (client_order_id) DO NOTHING RETURNING id""",
                (
                    request.client_order_id,
                    request.symbol,
                    request.side.value,
                    request.quantity,
                    request.order_type.value,
                    request.limit_price,
                    self.clock.now().to_pydatetime(),
                ),
            )
            row = cursor.fetchone()
            if row is None:  # the same client order id again: report the order it already holds
                cursor.execute(
                    "SELECT id FROM paper_orders WHERE client_order_id = %s",
                    (request.client_order_id,),
                )
                return self._state(cursor, cursor.fetchone()[0])
            self._work(cursor, row[0])
            return self._state(cursor, row[0])

    def order_status(
        self, broker_order_id: str, wait_seconds: float = 0.0
    ) -> BrokerOrderUpdate | None:
        """A resting limit order fills once the latest close makes it marketable."""
        with transaction(self.database_url) as connection, connection.cursor() as cursor:
            if not self._lock(cursor, broker_order_id):
                return None
            self._work(cursor, int(broker_order_id))
            return self._state(cursor, int(broker_order_id))

    def cancel(self, broker_order_id: str) -> BrokerOrderUpdate | None:
        with transaction(self.database_url) as connection, connection.cursor() as cursor:
            if not self._lock(cursor, broker_order_id):
                return None
            cursor.execute(
                "UPDATE paper_orders SET status = 'cancelled' WHERE id = %s AND status = 'working'",
                (int(broker_order_id),),
            )
            return self._state(cursor, int(broker_order_id))

    def positions(self) -> list[BrokerPosition]:
        with transaction(self.database_url) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT symbol, side, quantity, price FROM paper_executions ORDER BY id")
            book: dict[str, tuple[float, float]] = defaultdict(lambda: (0.0, 0.0))
            for symbol, side, quantity, price in cursor.fetchall():
                book[symbol] = apply_execution(
                    *book[symbol], Side(side).sign * float(quantity), float(price)
                )
        return [
            BrokerPosition(symbol, qty, round(avg, 4))
            for symbol, (qty, avg) in sorted(book.items())
            if qty
        ]

    def _lock(self, cursor, broker_order_id: str) -> bool:
        if not str(broker_order_id).isdigit():
            return False
        cursor.execute(
            "SELECT 1 FROM paper_orders WHERE id = %s FOR UPDATE", (int(broker_order_id),)
        )
        return cursor.fetchone() is not None

    def _work(self, cursor, order_id: int) -> None:
        """Fills a working order in full when it is marketable at the latest close."""
        cursor.execute(
            """SELECT symbol, side, quantity, order_type, limit_price, status
                          FROM paper_orders WHERE id = %s""",
            (order_id,),
        )
        symbol, side, quantity, order_type, limit_price, status = cursor.fetchone()
        if status != "working":
            return
        now = self.clock.now()
        close = latest_closes(cursor.connection, [symbol], as_of=now).get(symbol)
        if close is None:
            if order_type == OrderType.MARKET.value:
                cursor.execute(
                    "UPDATE paper_orders SET status = 'rejected', reason = %s WHERE id = %s",
                    (
                        f"no bar for {symbol} in dual_ticker_bars to fill at; load bars first",
                        order_id,
                    ),
                )
            return
        side = Side(side)
        price = self.fill_price(side, close)
        if limit_price is not None and side.sign * (price - float(limit_price)) > 0:
            return
        cursor.execute(
            """INSERT INTO paper_executions (exec_id, order_id, symbol, side, quantity, price,
                                             commission, executed_at)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s)""",
            (
                f"paper-{order_id}",
                order_id,
                symbol,
                side.value,
                quantity,
                price,
                round(float(quantity) * self.commission_per_share, 4),
                now.to_pydatetime(),
            ),
        )
        cursor.execute("UPDATE paper_orders SET status = 'filled' WHERE id = %s", (order_id,))

    def _state(self, cursor, order_id: int) -> BrokerOrderUpdate:
        cursor.execute("SELECT status, reason FROM paper_orders WHERE id = %s", (order_id,))
        status, reason = cursor.fetchone()
        cursor.execute(
            """SELECT exec_id, symbol, side, quantity, price, commission, executed_at
                          FROM paper_executions WHERE order_id = %s ORDER BY id""",
            (order_id,),
        )
        fills = tuple(
            FillReport(
                exec_id,
                symbol,
                Side(side),
                float(qty),
                float(price),
                float(commission),
                pd.Timestamp(at).tz_convert("UTC"),
            )
            for exec_id, symbol, side, qty, price, commission, at in cursor.fetchall()
        )
        filled = sum(f.quantity for f in fills)
        avg = round(sum(f.quantity * f.price for f in fills) / filled, 4) if filled else None
        return BrokerOrderUpdate(
            str(order_id),
            _STATUS[status],
            filled,
            avg,
            broker_status=status,
            reason=reason,
            fills=fills,
        )
