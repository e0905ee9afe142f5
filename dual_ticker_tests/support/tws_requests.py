"""How the loopback gateway answers each client request (message ids: IB_PROTOCOL.md, 4)."""

from __future__ import annotations

from dual_ticker_tests.support import tws_messages as msg
from dual_ticker_tests.support.tws_messages import GatewayOrder

CLIENT_ID_IN_USE = (
    "Unable to connect as the client id is already in use. Retry with a unique client id."
)
CONNECT_NOTICES = (
    (2104, "Market data farm connection is OK:usfarm"),
    (2106, "HMDS data farm connection is OK:ushmds"),
    (2158, "Sec-def data farm connection is OK:secdefnj"),
)
INVALID_ACCOUNT = "Error validating request.-'bN' : cause - Invalid account code"


def start_api(gateway, session, fields) -> None:
    """[71, 2, clientId, optCapab]: a client id already connected gets 326 and is closed."""
    client_id = int(fields[2])
    if client_id in gateway.sessions:
        session.send(msg.error(-1, 326, CLIENT_ID_IN_USE))
        session.writer.close()
        return
    session.client_id = client_id
    gateway.sessions[client_id] = session
    gateway.accepted_connections += 1
    session.send([15, 1, ",".join(gateway.accounts)])
    session.send([9, 1, gateway.next_valid_id()])
    if gateway.connect_notices:
        for code, message in CONNECT_NOTICES:
            session.send(msg.error(-1, code, message))


def held_warning(order: GatewayOrder) -> str:
    """Warning 399 of an order placed outside regular trading hours (IB's text, three lines)."""
    return (
        f"Order Message:\n{order.action} {order.quantity:g} {order.symbol} {msg.EXCHANGE}.NMS\n"
        "Warning: your order will not be placed at the exchange until "
        "2025-03-04 09:30:00 US/Eastern"
    )


def req_positions(gateway, session, fields) -> None:
    session.positions = True
    for (account, symbol), (qty, avg) in list(gateway.book.items()):
        session.send(msg.position(account, symbol, gateway.contract_id(symbol), qty, avg))
    session.send([62, 1])


def cancel_positions(gateway, session, fields) -> None:
    session.positions = False


def req_open_orders(gateway, session, fields) -> None:
    """Replays this client's working orders (how a reconnect rebuilds its trades)."""
    for order in gateway.orders.values():
        if order.client_id == session.client_id and order.is_open:
            session.send(msg.open_order(order))
            session.send(msg.order_status(order))
    session.send([53, 1])


def req_completed_orders(gateway, session, fields) -> None:
    session.send([102])


def req_account_updates(gateway, session, fields) -> None:
    """[6, 2, subscribe, account]: values, portfolio, time, then accountDownloadEnd."""
    account = fields[3]
    if fields[2] != "1":
        session.account_updates = None
        return
    session.account_updates = account
    for key, value in (
        ("NetLiquidation", gateway.net_liquidation(account)),
        ("TotalCashValue", gateway.cash),
        ("BuyingPower", gateway.buying_power),
    ):
        session.send([6, 2, key, f"{value:.2f}", "USD", account])
    for (acct, symbol), (qty, avg) in list(gateway.book.items()):
        if acct == account:
            session.send(
                msg.portfolio(
                    account, symbol, gateway.contract_id(symbol), qty, gateway.prices[symbol], avg
                )
            )
    session.send([8, 1, gateway.clock.now().strftime("%H:%M")])
    session.send([54, 1, account])


def req_account_updates_multi(gateway, session, fields) -> None:
    session.send([74, 1, int(fields[2])])


def req_executions(gateway, session, fields) -> None:
    """[7, 3, reqId, clientId, acctCode, time, symbol, secType, exchange, side]."""
    req_id, client_id, account, symbol = int(fields[2]), int(fields[3] or 0), fields[4], fields[6]
    for execution in gateway.executions:
        order = execution.order
        if (
            (client_id and order.client_id != client_id)
            or (account and order.account != account)
            or (symbol and order.symbol != symbol)
        ):
            continue
        session.send(msg.exec_details(req_id, execution))
        session.send(msg.commission_report(execution))
    session.send([55, 1, req_id])


def req_contract_details(gateway, session, fields) -> None:
    req_id, con_id, symbol = int(fields[2]), int(fields[3] or 0), fields[4]
    symbol = gateway.symbol_of(con_id) if con_id else symbol
    if symbol is None or gateway.contract_id(symbol) is None:
        session.send(
            msg.error(req_id, 200, "No security definition has been found for the request")
        )
        return
    session.send(msg.contract_data(req_id, symbol, gateway.contract_id(symbol)))
    session.send([52, 1, req_id])


def place_order(gateway, session, fields) -> None:
    """A new order is accepted (filled when marketable), held while the market is closed, or
    rejected (now or after its acknowledgement); a known open id modifies."""
    order_id, con_id, symbol = int(fields[1]), int(fields[2] or 0), fields[3]
    quantity, order_type = float(fields[17]), fields[18]
    limit_price = float(fields[19]) if fields[19] else None
    existing = gateway.orders.get(order_id)
    if existing is not None:
        if not existing.is_open:
            session.send(msg.error(order_id, 103, "Duplicate order id"))
            return
        existing.quantity, existing.limit_price = quantity, limit_price
        session.send(msg.open_order(existing))
        session.send(msg.order_status(existing))
        _fill_if_marketable(gateway, existing)
        return
    symbol = gateway.symbol_of(con_id) if con_id else symbol
    if symbol is None or gateway.contract_id(symbol) is None:
        session.send(
            msg.error(order_id, 200, "No security definition has been found for the request")
        )
        return
    account = fields[23] or gateway.accounts[0]
    if account not in gateway.accounts:
        session.send(msg.error(order_id, 321, INVALID_ACCOUNT))
        return
    order = GatewayOrder(
        order_id,
        session.client_id,
        gateway.next_perm_id(),
        account,
        symbol,
        gateway.contract_id(symbol),
        fields[16],
        quantity,
        order_type,
        limit_price,
        fields[21] or "DAY",
        fields[26],
    )
    gateway.orders[order_id] = order
    price = limit_price if order_type == "LMT" else gateway.prices[symbol]
    if order_type not in ("MKT", "LMT") or (price or 0) * quantity > gateway.buying_power:
        order.status = "Cancelled"
        session.send(
            msg.error(
                order_id,
                201,
                "Order rejected - reason:Your order is not accepted because "
                "your buying power is insufficient or its type is not supported",
            )
        )
        return
    if not gateway.market_open:
        order.status = "PreSubmitted"
    session.send(msg.open_order(order))
    session.send(msg.order_status(order))
    if not gateway.market_open:
        session.send(msg.error(order_id, 399, held_warning(order)))
    elif gateway.late_rejects:
        gateway.send_reject(order, gateway.late_rejects.pop(0))
    else:
        _fill_if_marketable(gateway, order)


def _fill_if_marketable(gateway, order: GatewayOrder) -> None:
    if order.status == "Submitted" and gateway.marketable(order):
        gateway.execute(order, order.remaining, gateway.prices[order.symbol])


def cancel_order(gateway, session, fields) -> None:
    order = gateway.orders.get(int(fields[2]))
    if order is None:
        session.send(
            msg.error(
                int(fields[2]),
                10147,
                f"OrderId {fields[2]} that needs to be cancelled is not found.",
            )
        )
    elif not order.is_open:
        session.send(
            msg.error(
                order.order_id,
                10148,
                f"OrderId {order.order_id} that needs to be cancelled "
                f"cannot be cancelled, state: {order.status}.",
            )
        )
    else:
        order.status = "Cancelled"
        session.send(msg.order_status(order))
        session.send(msg.error(order.order_id, 202, "Order Canceled - reason:"))


def req_ids(gateway, session, fields) -> None:
    session.send([9, 1, gateway.next_valid_id()])


def req_managed_accounts(gateway, session, fields) -> None:
    session.send([15, 1, ",".join(gateway.accounts)])


def req_current_time(gateway, session, fields) -> None:
    session.send([49, 1, int(gateway.clock.now().timestamp())])


HANDLERS = {
    71: start_api,
    61: req_positions,
    64: cancel_positions,
    5: req_open_orders,
    99: req_completed_orders,
    6: req_account_updates,
    76: req_account_updates_multi,
    7: req_executions,
    9: req_contract_details,
    3: place_order,
    4: cancel_order,
    8: req_ids,
    17: req_managed_accounts,
    49: req_current_time,
}
