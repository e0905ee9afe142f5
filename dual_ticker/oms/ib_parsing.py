"""Pure translations of ib_async objects (Trade, Fill, Position) into the order domain."""

from __future__ import annotations

from collections.abc import Iterable

import ib_async
import pandas as pd

from dual_ticker.oms.orders import BrokerOrderUpdate, BrokerPosition, FillReport, OrderStatus, Side

DONE = frozenset({"Filled", "Cancelled", "ApiCancelled", "Inactive"})
CANCEL_CODES = frozenset({202, 10148})  # "order cancelled" and "cannot cancel, already done"


def fill_report(fill: ib_async.Fill) -> FillReport:
    execution = fill.execution
    report = fill.commissionReport
    return FillReport(
        exec_id=execution.execId,
        symbol=fill.contract.symbol,
        side=Side.BUY if execution.side == "BOT" else Side.SELL,
        quantity=float(execution.shares),
        price=float(execution.price),
        commission=float(report.commission) if report.execId else None,
        executed_at=pd.Timestamp(execution.time).tz_convert("UTC"),
    )


def commissions_complete(fills: Iterable[ib_async.Fill]) -> bool:
    """Whether every execution's commission report has arrived (it follows the execution)."""
    return all(fill.commissionReport.execId for fill in fills)


def rejection(trade: ib_async.Trade) -> str | None:
    """The error that ended the order, e.g. 'IB error 201: Order rejected - reason: ...'."""
    for entry in reversed(trade.log):
        if entry.errorCode and entry.errorCode not in CANCEL_CODES:
            message = entry.message.split(": ", 1)[-1] if ": " in entry.message else entry.message
            return f"IB error {entry.errorCode}: {message}"
    return None


def order_update(
    trade: ib_async.Trade, fills: Iterable[ib_async.Fill] | None = None
) -> BrokerOrderUpdate:
    """The domain view of a trade; `fills` overrides trade.fills (e.g. executions replayed after a
    reconnect, which attach to the new Trade objects only)."""
    reports = tuple(fill_report(f) for f in (trade.fills if fills is None else fills))
    ib_status = trade.orderStatus.status
    executed = sum(r.quantity for r in reports)
    filled = max(float(trade.orderStatus.filled), executed)
    reason = rejection(trade)
    if ib_status == "Filled":
        status = OrderStatus.FILLED
    elif ib_status in ("Cancelled", "ApiCancelled", "Inactive"):
        rejected = ib_status == "Inactive" or (reason is not None and filled == 0)
        status = OrderStatus.REJECTED if rejected else OrderStatus.CANCELLED
        reason = reason or (f"order {ib_status.lower()} at IB" if rejected else None)
    else:
        status = OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.SUBMITTED
    avg = float(trade.orderStatus.avgFillPrice) or None
    if avg is None and executed:
        avg = sum(r.quantity * r.price for r in reports) / executed
    return BrokerOrderUpdate(
        broker_order_id=str(trade.order.orderId),
        status=status,
        filled_qty=filled,
        avg_fill_price=None if avg is None else round(avg, 4),
        perm_id=trade.order.permId or trade.orderStatus.permId or None,
        broker_status=ib_status,
        reason=reason,
        fills=reports,
    )


def update_from_executions(order_id: int, fills: list[ib_async.Fill]) -> BrokerOrderUpdate:
    """What executions alone say of an order IB no longer lists (done before this connection)."""
    reports = tuple(fill_report(f) for f in fills)
    executed = sum(r.quantity for r in reports)
    avg = sum(r.quantity * r.price for r in reports) / executed
    return BrokerOrderUpdate(
        str(order_id),
        OrderStatus.PARTIALLY_FILLED,
        executed,
        round(avg, 4),
        perm_id=fills[-1].execution.permId or None,
        broker_status="executions",
        fills=reports,
    )


def broker_position(position: ib_async.Position) -> BrokerPosition:
    """IB's avgCost of a stock is per share (commissions included)."""
    return BrokerPosition(
        position.contract.symbol, float(position.position), round(float(position.avgCost), 4)
    )
