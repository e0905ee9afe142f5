"""A loopback TWS / IB Gateway for tests: speaks the TWS API socket protocol at server version 157
to the real ib_async client (../shared/IB_PROTOCOL.md) and keeps orders, positions and executions
server-side, so a reconnecting client gets them replayed. Runs its own event loop in a thread.
Options make it behave like a real login: connect-time farm notices, a closed market that holds
orders, late rejects after the acknowledgement, and orders for an account it does not know."""

from __future__ import annotations

import asyncio
import struct
import threading
from collections import defaultdict
from dataclasses import dataclass

from dual_ticker.clock import SYSTEM_CLOCK, Clock
from dual_ticker.oms.cost_basis import apply_execution
from dual_ticker_tests.support import tws_messages as msg
from dual_ticker_tests.support.tws_messages import SERVER_VERSION, GatewayExecution, GatewayOrder
from dual_ticker_tests.support.tws_requests import HANDLERS

CONTRACT_IDS = {"NVDA": 4815747, "MSFT": 272093, "AAPL": 265598}
LATE_REJECT = "Order rejected - reason:The order was rejected by the exchange after it was accepted"


@dataclass
class _Session:
    writer: asyncio.StreamWriter
    client_id: int | None = None
    positions: bool = False
    account_updates: str | None = None

    def send(self, fields: list) -> None:
        if not self.writer.is_closing():
            self.writer.write(msg.frame(fields))


class TwsGateway:
    host = "127.0.0.1"

    def __init__(
        self,
        accounts=("DU1234567",),
        prices=None,
        buying_power: float = 1_000_000.0,
        commission_per_share: float = 0.005,
        minimum_commission: float = 1.0,
        cash: float = 100_000.0,
        clock: Clock = SYSTEM_CLOCK,
        connect_notices: bool = False,
        market_open: bool = True,
    ):
        self.accounts = list(accounts)
        self.connect_notices = connect_notices  # 2104/2106/2158 after the handshake, as IB sends
        self.market_open = market_open  # closed: new orders are held (PreSubmitted, warning 399)
        self.late_rejects: list[str] = []  # reasons for the next new orders, rejected after ack
        self.prices = dict(prices or {"NVDA": 120.0, "MSFT": 410.0, "AAPL": 190.0})
        self.buying_power = buying_power
        self.commission_per_share = commission_per_share
        self.minimum_commission = minimum_commission
        self.cash = cash
        self.clock = clock
        self.orders: dict[int, GatewayOrder] = {}
        self.executions: list[GatewayExecution] = []
        self.book: dict[tuple[str, str], tuple[float, float]] = defaultdict(lambda: (0.0, 0.0))
        self.received: list[
            tuple[int | None, list[str]]
        ] = []  # (client id, fields) of every message
        self.sessions: dict[int, _Session] = {}
        self.accepted_connections = 0
        self._writers: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task] = set()
        self._perm_ids = iter(range(1_000_001, 2_000_000))

    # lifecycle, from the test's thread
    def start(self) -> TwsGateway:
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            self._server = self._loop.run_until_complete(
                asyncio.start_server(self._serve, "127.0.0.1", 0)
            )
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            self._loop.run_forever()
            self._loop.close()

        self._thread = threading.Thread(target=run, name="tws-gateway", daemon=True)
        self._thread.start()
        if not ready.wait(5):
            raise RuntimeError("loopback TWS gateway did not start within 5 s")
        return self

    def stop(self) -> None:
        self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def __enter__(self) -> TwsGateway:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # controls and inspection, from the test's thread
    def drop_connections(self) -> None:
        """Closes every client connection, as a gateway restart or network loss would."""
        self._call(self._drop())

    def set_price(self, symbol: str, price: float) -> None:
        """Moves the market; resting limit orders that become marketable fill."""
        self._call(self._set_price(symbol, price))

    def fill(self, order_id: int, quantity: float, price: float | None = None) -> None:
        """Executes part (or all) of an open order, e.g. to produce a partial fill."""
        self._call(self._fill(order_id, quantity, price))

    def open_market(self) -> None:
        """Regular hours begin: held orders are released (Submitted) and marketable ones fill."""
        self._call(self._open_market())

    def reject_after_ack(self, reason: str = LATE_REJECT) -> None:
        """The next new order is acknowledged (Submitted), then rejected with error 201."""
        self.late_rejects.append(reason)

    def reject(self, order_id: int, reason: str = LATE_REJECT, status: str = "Cancelled") -> None:
        """Rejects a working order later (error 201, then `status`: Cancelled or Inactive)."""
        self._call(self._reject(self.orders[order_id], reason, status))

    def cancel(self, order_id: int) -> None:
        """Cancels a working order at IB's side, as someone cancelling it in TWS would."""
        self._call(self._cancel(self.orders[order_id]))

    def notify(self, code: int, message: str) -> None:
        """A connection notice (request id -1) to every client, e.g. 2103 a data farm is broken."""
        self._call(self._notify(code, message))

    def log_in(self, *accounts: str) -> None:
        """Logs the gateway in to other accounts; orders for the old ones now get error 321."""
        self.accounts = list(accounts)

    def messages(self, msg_id: int) -> list[list[str]]:
        return [fields for _, fields in list(self.received) if fields and fields[0] == str(msg_id)]

    @property
    def placed_order_ids(self) -> list[int]:
        return [int(fields[1]) for fields in self.messages(3)]

    def position(self, symbol: str, account: str | None = None) -> float:
        return self.book[(account or self.accounts[0], symbol)][0]

    def _call(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(5)

    # the event loop's side
    async def _shutdown(self) -> None:
        await self._drop()
        if self._handlers:
            await asyncio.wait(self._handlers, timeout=2)
        self._server.close()
        await self._server.wait_closed()

    async def _drop(self) -> None:
        # Closing the writers lets each handler reach EOF; cancelling them would log errors.
        self.sessions.clear()
        for writer in list(self._writers):
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._handlers.add(asyncio.current_task())
        self._writers.add(writer)
        session = _Session(writer)
        try:
            if await reader.readexactly(4) != b"API\0":
                return
            await self._read_frame(
                reader
            )  # "v157..178": the client's version range, no trailing NUL
            session.send([SERVER_VERSION, self.connection_time()])
            while not writer.is_closing():
                fields = (await self._read_frame(reader)).decode().split("\0")[:-1]
                self.received.append((session.client_id, fields))
                self._handle(session, fields)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            if session.client_id is not None and self.sessions.get(session.client_id) is session:
                del self.sessions[session.client_id]
            self._writers.discard(writer)
            writer.close()
            self._handlers.discard(asyncio.current_task())

    @staticmethod
    async def _read_frame(reader: asyncio.StreamReader) -> bytes:
        (length,) = struct.unpack(">I", await reader.readexactly(4))
        return await reader.readexactly(length)

    def _handle(self, session: _Session, fields: list[str]) -> None:
        handler = HANDLERS.get(int(fields[0]))
        if handler is not None:
            handler(self, session, fields)

    def next_valid_id(self) -> int:
        return max([1, *(order_id + 1 for order_id in self.orders)])

    def next_perm_id(self) -> int:
        return next(self._perm_ids)

    def connection_time(self) -> str:
        return self.clock.now().strftime("%Y%m%d %H:%M:%S UTC")

    def contract_id(self, symbol: str) -> int | None:
        return CONTRACT_IDS.get(symbol) if symbol in self.prices else None

    def symbol_of(self, con_id: int) -> str | None:
        return next((s for s, c in CONTRACT_IDS.items() if c == con_id and s in self.prices), None)

    async def _set_price(self, symbol: str, price: float) -> None:
        self.prices[symbol] = price
        for order in list(self.orders.values()):
            if order.symbol == symbol and order.status == "Submitted" and self.marketable(order):
                self.execute(order, order.remaining, price)

    async def _open_market(self) -> None:
        self.market_open = True
        for order in list(self.orders.values()):
            if order.status == "PreSubmitted":
                order.status = "Submitted"
                self.send_to_owner(order, msg.order_status(order))
                if self.marketable(order):
                    self.execute(order, order.remaining, self.prices[order.symbol])

    async def _reject(self, order: GatewayOrder, reason: str, status: str) -> None:
        self.send_reject(order, reason, status)

    def send_reject(self, order: GatewayOrder, reason: str, status: str = "Cancelled") -> None:
        order.status = status
        self.send_to_owner(order, msg.error(order.order_id, 201, reason), msg.order_status(order))

    async def _cancel(self, order: GatewayOrder) -> None:
        order.status = "Cancelled"
        self.send_to_owner(
            order,
            msg.order_status(order),
            msg.error(order.order_id, 202, "Order Canceled - reason:"),
        )

    async def _notify(self, code: int, message: str) -> None:
        for session in list(self.sessions.values()):
            session.send(msg.error(-1, code, message))

    async def _fill(self, order_id: int, quantity: float, price: float | None) -> None:
        order = self.orders[order_id]
        self.execute(order, min(quantity, order.remaining), price or self.prices[order.symbol])

    def marketable(self, order: GatewayOrder) -> bool:
        price = self.prices[order.symbol]
        if order.order_type == "MKT":
            return True
        return price <= order.limit_price if order.action == "BUY" else price >= order.limit_price

    def execute(self, order: GatewayOrder, shares: float, price: float) -> None:
        """One execution: order state, the book, and the messages IB pushes to its clients."""
        order.avg_fill_price = (order.avg_fill_price * order.filled + price * shares) / (
            order.filled + shares
        )
        order.filled += shares
        order.last_fill_price = price
        order.status = "Filled" if order.remaining <= 1e-9 else "Submitted"
        commission = round(max(self.minimum_commission, shares * self.commission_per_share), 4)
        signed = shares if order.action == "BUY" else -shares
        self.cash -= signed * price + commission
        key = (order.account, order.symbol)
        self.book[key] = apply_execution(*self.book[key], signed, price)
        execution = GatewayExecution(
            f"{order.perm_id:08x}.{len(self.executions) + 1:08x}.01.01",
            order,
            shares,
            price,
            self.connection_time(),
            order.filled,
            order.avg_fill_price,
            commission,
        )
        self.executions.append(execution)
        self.send_to_owner(
            order,
            msg.exec_details(-1, execution),
            msg.order_status(order),
            msg.open_order(order),
            msg.commission_report(execution),
        )
        self.push_position(order.account, order.symbol)

    def send_to_owner(self, order: GatewayOrder, *messages: list) -> None:
        """To the connection of the client that placed the order, if it is connected."""
        owner = self.sessions.get(order.client_id)
        if owner is not None:
            for message in messages:
                owner.send(message)

    def push_position(self, account: str, symbol: str) -> None:
        qty, avg = self.book[(account, symbol)]
        for session in list(self.sessions.values()):
            if session.positions:
                session.send(msg.position(account, symbol, CONTRACT_IDS[symbol], qty, avg))
            if session.account_updates == account:
                session.send(
                    msg.portfolio(
                        account, symbol, CONTRACT_IDS[symbol], qty, self.prices[symbol], avg
                    )
                )

    def net_liquidation(self, account: str) -> float:
        return self.cash + sum(
            qty * self.prices[symbol]
            for (acct, symbol), (qty, _) in self.book.items()
            if acct == account
        )
