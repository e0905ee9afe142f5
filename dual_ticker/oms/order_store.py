"""Reads and writes of the orders, order_events and fills tables (in the caller's transaction)."""

from __future__ import annotations

import pandas as pd

from dual_ticker.oms.orders import FillReport, Order, OrderRequest, OrderStatus, Side

_ORDER_COLUMNS = (
    "id, client_order_id, symbol, side, quantity, order_type, limit_price, status, broker, "
    "broker_order_id, perm_id, filled_qty, avg_fill_price, reason, created_at, updated_at"
)


def _float(value) -> float | None:
    return None if value is None else float(value)


def _stamp(value) -> pd.Timestamp | None:
    return None if value is None else pd.Timestamp(value).tz_convert("UTC")


def claim(connection, request: OrderRequest, broker: str, at: pd.Timestamp) -> tuple[Order, bool]:
    """Stores a new order under its client order id; (the stored order, whether it is new here).

    The unique constraint decides: a concurrent or retried claim of the same id waits for the
    first one's transaction and then finds the existing row.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO orders (client_order_id, symbol, side, quantity, order_type, limit_price,
                                   status, broker, created_at, updated_at)
               VALUES (%s, %s, %s, %s, %s, %s, 'new', %s, %s, %s)
               ON CONFLICT (client_order_id) DO NOTHING RETURNING id""",
            (
                request.client_order_id,
                request.symbol,
                request.side.value,
                request.quantity,
                request.order_type.value,
                request.limit_price,
                broker,
                at.to_pydatetime(),
                at.to_pydatetime(),
            ),
        )
        row = cursor.fetchone()
        if row is not None:
            _insert_event(cursor, row[0], None, OrderStatus.NEW, 0.0, None, None, None, at)
    return load(connection, request.client_order_id), row is not None


def load(connection, client_order_id: str, lock: bool = False) -> Order | None:
    """The stored order with its fills; `lock` holds its row until the transaction ends."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {_ORDER_COLUMNS} FROM orders WHERE client_order_id = %s"
            + (" FOR UPDATE" if lock else ""),
            (client_order_id,),
        )
        row = cursor.fetchone()
        if row is None:
            return None
        cursor.execute(
            """SELECT exec_id, symbol, side, quantity, price, commission, executed_at FROM fills
               WHERE order_id = %s ORDER BY executed_at, id""",
            (row[0],),
        )
        fills = tuple(
            FillReport(
                exec_id,
                symbol,
                Side(side),
                float(qty),
                float(price),
                _float(commission),
                _stamp(at),
            )
            for exec_id, symbol, side, qty, price, commission, at in cursor.fetchall()
        )
    (
        id_,
        coid,
        symbol,
        side,
        quantity,
        order_type,
        limit_price,
        status,
        broker,
        broker_order_id,
        perm_id,
        filled_qty,
        avg_fill_price,
        reason,
        created_at,
        updated_at,
    ) = row
    request = OrderRequest(
        coid, symbol, Side(side), float(quantity), order_type, _float(limit_price)
    )
    return Order(
        id_,
        request,
        OrderStatus(status),
        broker,
        broker_order_id,
        perm_id,
        float(filled_qty),
        _float(avg_fill_price),
        reason,
        _stamp(created_at),
        _stamp(updated_at),
        fills,
    )


def record_transition(
    connection,
    order: Order,
    status: OrderStatus,
    at: pd.Timestamp,
    *,
    filled_qty: float | None = None,
    avg_fill_price: float | None = None,
    broker_order_id: str | None = None,
    perm_id: int | None = None,
    broker_status: str | None = None,
    reason: str | None = None,
) -> Order:
    """Moves the order to `status` (or records more fills in the same status) and logs the event."""
    filled_qty = order.filled_qty if filled_qty is None else filled_qty
    avg_fill_price = order.avg_fill_price if avg_fill_price is None else avg_fill_price
    with connection.cursor() as cursor:
        cursor.execute(
            """UPDATE orders SET status = %s, filled_qty = %s, avg_fill_price = %s,
                      broker_order_id = COALESCE(%s, broker_order_id),
                      perm_id = COALESCE(%s, perm_id),
                      reason = COALESCE(%s, reason), updated_at = %s,
                      submitted_at = CASE WHEN %s = 'submitted' THEN %s ELSE submitted_at END
               WHERE id = %s""",
            (
                status.value,
                filled_qty,
                avg_fill_price,
                broker_order_id,
                perm_id,
                reason,
                at.to_pydatetime(),
                status.value,
                at.to_pydatetime(),
                order.id,
            ),
        )
        _insert_event(
            cursor,
            order.id,
            order.status,
            status,
            filled_qty,
            avg_fill_price,
            broker_status,
            reason,
            at,
        )
    return load(connection, order.client_order_id)


def _insert_event(
    cursor, order_id, from_status, to_status, filled_qty, avg_fill_price, broker_status, reason, at
) -> None:
    cursor.execute(
        """INSERT INTO order_events (order_id, from_status, to_status, filled_qty, avg_fill_price,
                                     broker_status, reason, occurred_at)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s)""",
        (
            order_id,
            None if from_status is None else from_status.value,
            to_status.value,
            filled_qty,
            avg_fill_price,
            broker_status,
            reason,
            at.to_pydatetime(),
        ),
    )


def record_fills(connection, order: Order, fills: tuple[FillReport, ...]) -> int:
    """Stores executions once each (by exec id); a commission that arrives later fills the gap."""
    stored = 0
    with connection.cursor() as cursor:
        for fill in fills:
            cursor.execute(
                """INSERT INTO fills (exec_id, order_id, symbol, side, quantity, price, commission,
                                      executed_at)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
                   ON CONFLICT (exec_id) DO UPDATE
                   SET commission = COALESCE(fills.commission, EXCLUDED.commission)
                   RETURNING (xmax = 0)""",
                (
                    fill.exec_id,
                    order.id,
                    fill.symbol,
                    fill.side.value,
                    fill.quantity,
                    fill.price,
                    fill.commission,
                    fill.executed_at.to_pydatetime(),
                ),
            )
            stored += bool(cursor.fetchone()[0])
    return stored


def pending_quantity(connection, symbol: str, broker: str, excluding_order_id: int) -> float:
    """Signed quantity still to fill on the symbol's other open orders at this broker."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT COALESCE(SUM(
                   CASE side WHEN 'BUY' THEN 1 ELSE -1 END * (quantity - filled_qty)), 0)
               FROM orders WHERE symbol = %s AND broker = %s AND id <> %s
                 AND status IN ('submitted', 'partially_filled')""",
            (symbol, broker, excluding_order_id),
        )
        return float(cursor.fetchone()[0])


def order_events(connection, client_order_id: str) -> list[dict]:
    """The order's stored transitions, oldest first."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT e.from_status, e.to_status, e.filled_qty, e.avg_fill_price, e.broker_status,
                      e.reason
               FROM order_events e JOIN orders o ON o.id = e.order_id
               WHERE o.client_order_id = %s ORDER BY e.id""",
            (client_order_id,),
        )
        columns = [
            "from_status",
            "to_status",
            "filled_qty",
            "avg_fill_price",
            "broker_status",
            "reason",
        ]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def working_order_ids(connection, broker: str) -> list[str]:
    """Client order ids of the broker's orders still working (submitted or partly filled), oldest first."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT client_order_id FROM orders WHERE broker = %s
               AND status IN ('submitted', 'partially_filled') ORDER BY id""",
            (broker,),
        )
        return [row[0] for row in cursor.fetchall()]
