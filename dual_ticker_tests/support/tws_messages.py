"""TWS API messages at server version 157, as the loopback gateway sends them (field layouts from
../shared/IB_PROTOCOL.md: fixed-tuple messages break on one field too many or too few)."""

from __future__ import annotations

import struct
from dataclasses import dataclass

SERVER_VERSION = 157
EXCHANGE = "NASDAQ"


@dataclass
class GatewayOrder:
    order_id: int
    client_id: int
    perm_id: int
    account: str
    symbol: str
    con_id: int
    action: str
    quantity: float
    order_type: str
    limit_price: float | None
    tif: str
    order_ref: str
    status: str = "Submitted"
    filled: float = 0.0
    avg_fill_price: float = 0.0
    last_fill_price: float = 0.0

    @property
    def remaining(self) -> float:
        return self.quantity - self.filled

    @property
    def is_open(self) -> bool:
        return self.status in ("Submitted", "PreSubmitted")


@dataclass
class GatewayExecution:
    exec_id: str
    order: GatewayOrder
    shares: float
    price: float
    time: str
    cum_qty: float
    avg_price: float
    commission: float


def frame(fields: list) -> bytes:
    """4-byte big-endian length, then every field as text ending in NUL."""
    payload = "".join(f"{_text(value)}\0" for value in fields).encode()
    return struct.pack(">I", len(payload)) + payload


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _contract(symbol: str, con_id: int) -> list:
    """The 11-field contract of openOrder, execDetails, position (exchange, no primaryExchange)."""
    return [con_id, symbol, "STK", "", 0.0, "", "", EXCHANGE, "USD", symbol, symbol]


def position(account: str, symbol: str, con_id: int, qty: float, avg_cost: float) -> list:
    return [61, 3, account, *_contract(symbol, con_id), qty, avg_cost]


def portfolio(
    account: str, symbol: str, con_id: int, qty: float, price: float, avg_cost: float
) -> list:
    """updatePortfolio: primaryExchange sits in the contract's exchange slot."""
    return [
        7,
        8,
        *_contract(symbol, con_id),
        qty,
        price,
        qty * price,
        avg_cost,
        (price - avg_cost) * qty,
        0.0,
        account,
    ]


def order_status(order: GatewayOrder) -> list:
    return [
        3,
        order.order_id,
        order.status,
        order.filled,
        order.remaining,
        order.avg_fill_price,
        order.perm_id,
        0,
        order.last_fill_price,
        order.client_id,
        "",
        0.0,
    ]


def exec_details(req_id: int, execution: GatewayExecution) -> list:
    order = execution.order
    side = "BOT" if order.action == "BUY" else "SLD"
    return [
        11,
        req_id,
        order.order_id,
        *_contract(order.symbol, order.con_id),
        execution.exec_id,
        execution.time,
        order.account,
        EXCHANGE,
        side,
        execution.shares,
        execution.price,
        order.perm_id,
        order.client_id,
        0,
        execution.cum_qty,
        execution.avg_price,
        order.order_ref,
        "",
        "",
        "",
        0,
    ]


def commission_report(execution: GatewayExecution) -> list:
    return [59, 1, execution.exec_id, execution.commission, "USD", "", "", ""]


def error(req_id: int, code: int, message: str) -> list:
    return [4, 2, req_id, code, message]


def open_order(order: GatewayOrder) -> list:
    """openOrder of a plain stock order: 120 fields, unset ones empty, the counts 0."""
    empty = [""]
    return [
        5,
        order.order_id,
        *_contract(order.symbol, order.con_id),
        order.action,
        order.quantity,
        order.order_type,
        "" if order.limit_price is None else order.limit_price,
        "",
        order.tif,
        "",
        order.account,
        "O",
        0,
        order.order_ref,
        order.client_id,
        order.perm_id,
        *empty * 8,  # outsideRth .. faPercentage (hidden, discretionaryAmt, goodAfterTime, ...)
        *empty,  # faProfile (server versions below 177)
        *empty * 29,  # modelCode .. deltaNeutralAuxPrice
        *empty * 7,  # continuousUpdate .. comboLegsDescrip
        0,
        0,
        0,  # combo legs, order combo legs, smart combo routing params
        *empty * 3,  # scale fields
        "",  # hedgeType
        *empty * 4,
        0,  # optOutSmartRouting .. notHeld, no delta-neutral contract
        "",  # algoStrategy
        "",
        0,
        order.status,  # solicited, whatIf, status
        *empty * 16,  # margins, commissions, warningText, randomizeSize, randomizePrice
        0,  # conditions
        *empty * 16,  # adjustedOrderType .. usePriceMgmtAlgo
    ]


def contract_data(req_id: int, symbol: str, con_id: int) -> list:
    return [
        10,
        8,
        req_id,
        symbol,
        "STK",
        "",
        0.0,
        "",
        "SMART",
        "USD",
        symbol,
        "NMS",
        symbol,
        con_id,
        0.01,
        "",
        "",
        "ACTIVETIM,LMT,MKT",
        "SMART,NASDAQ",
        1,
        0,
        f"{symbol} INC",
        EXCHANGE,
        "",
        "Technology",
        "",
        "",
        "US/Eastern",
        "",
        "",
        "",
        "",
        0,
        1,
        "",
        "",
        "26",
        "",
        "COMMON",
    ]
