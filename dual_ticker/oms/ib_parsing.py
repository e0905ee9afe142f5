"""Pure translations of ib_async objects (Trade, Fill, Position) into the order domain."""

from __future__ import annotations

from collections.abc import Iterable

import ib_async
import pandas as pd

from dual_ticker.oms.orders import BrokerOrderUpdate, BrokerPosition, FillReport, OrderStatus, Side

DONE = frozenset({"Filled", "Cancelled", "ApiCancelled", "Inactive"})
PENDING = frozenset({"PendingSubmit", "ApiPending"})
CANCEL_CODES = frozenset({202, 10148})  # "order cancelled" and "cannot cancel, already done"
# On a warning code (399 held, 321, ...) ib_async sets the status ValidationError and keeps the
# order live; a 321 ("Error validating request", e.g. an invalid account) before any
# acknowledgement means IB never took the order.
VALIDATION = "ValidationError"
REFUSING_WARNINGS = frozenset({321})


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


def _refused(trade: ib_async.Trade) -> bool:
    statuses = {entry.status for entry in trade.log}
    return statuses <= PENDING | {VALIDATION} and any(
        entry.errorCode in REFUSING_WARNINGS for entry in trade.log
    )


def ib_status(trade: ib_async.Trade) -> str:
    """IB's status of the order. ib_async overwrites it with ValidationError on a warning (399: an
    order held until the market opens); this is the status before it, or Inactive if IB refused
    the new order."""
    if trade.orderStatus.status != VALIDATION:
        return trade.orderStatus.status
    if _refused(trade):
        return "Inactive"
    earlier = [entry.status for entry in trade.log if entry.status != VALIDATION]
    return earlier[-1] if earlier else "PendingSubmit"


def rejection(trade: ib_async.Trade) -> str | None:
    """The error that ended the order, e.g. 'IB error 201: Order rejected - reason: ...'; warnings
    on a live order (399 held) are not one."""
    refused = _refused(trade)
    for entry in reversed(trade.log):
        if not entry.errorCode or entry.errorCode in CANCEL_CODES:
            continue
        if entry.status == VALIDATION and not refused:
            continue
        message = entry.message.split(": ", 1)[-1] if ": " in entry.message else entry.message
        return f"IB error {entry.errorCode}: {' '.join(message.split())}"
    return None


def order_update(
    trade: ib_async.Trade, fills: Iterable[ib_async.Fill] | None = None
) -> BrokerOrderUpdate:
    """The domain view of a trade; `fills` overrides trade.fills (e.g. executions replayed after a
    reconnect, which attach to the new Trade objects only)."""
    reports = tuple(fill_report(f) for f in (trade.fills if fills is None else fills))
    status_at_ib = ib_status(trade)
    executed = sum(r.quantity for r in reports)
    filled = max(float(trade.orderStatus.filled), executed)
    reason = rejection(trade)
    if status_at_ib == "Filled":
        status = OrderStatus.FILLED
    elif status_at_ib in ("Cancelled", "ApiCancelled", "Inactive"):
        rejected = status_at_ib == "Inactive" or (reason is not None and filled == 0)
        status = OrderStatus.REJECTED if rejected else OrderStatus.CANCELLED
        reason = reason or (f"order {status_at_ib.lower()} at IB" if rejected else None)
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
        broker_status=status_at_ib,
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
