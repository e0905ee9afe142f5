"""One ib_async connection to IB Gateway/TWS: connect with a timeout, paper-only checks, reconnect
with backoff, and bounded waits on the client's event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

import ib_async

from dual_ticker.oms.broker import BrokerUnavailable
from dual_ticker.oms.trading_mode import LiveTradingRefused, TradingPermission, masked_account

logger = logging.getLogger(__name__)
SETUP_HINT = "see docs/IB_SETUP.md"
PAPER_TRADING = TradingPermission()
# Sent with request id -1 at every login and when a farm reconnects: "... farm connection is OK".
NOTICES = frozenset({2104, 2106, 2107, 2108, 2158})
CLIENT_ID_IN_USE = 326


class ClientIdInUse(BrokerUnavailable):
    pass


class IBConnection:
    def __init__(
        self,
        host: str,
        port: int,
        client_id: int,
        account: str | None = None,
        *,
        permission: TradingPermission = PAPER_TRADING,
        timeout: float = 10.0,
        reconnect_attempts: int = 3,
        reconnect_backoff: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ):
        permission.check_port(port)
        if account:
            permission.check_account(account)
        self.host, self.port, self.client_id = host, port, client_id
        self.configured_account = account
        self.permission = permission
        self.timeout = timeout
        self.reconnect_attempts = reconnect_attempts
        self.reconnect_backoff = reconnect_backoff
        self.sleep = sleep
        self.account: str | None = None
        self.connects = 0
        self._closing = False
        self.ib = ib_async.IB()
        self.ib.disconnectedEvent += self._on_disconnected
        self.ib.errorEvent += self._on_error

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    def connect(self) -> None:
        """One attempt; raises BrokerUnavailable (or LiveTradingRefused) with what to do."""
        try:
            self.ib.run(self._connect_async())
        except ClientIdInUse:
            raise
        except TimeoutError:
            raise BrokerUnavailable(
                f"IB at {self.where} did not complete the API handshake within {self.timeout:g} s; "
                "check that IB Gateway/TWS is logged in, API socket clients are enabled and "
                f"this host is trusted ({SETUP_HINT})"
            ) from None
        except (OSError, ConnectionError) as exc:
            raise BrokerUnavailable(
                f"couldn't connect to IB at {self.where} ({type(exc).__name__}, like TWS error "
                "502); start IB Gateway or TWS and check IB_HOST/IB_PORT and the API port setting "
                f"({SETUP_HINT})"
            ) from None
        accounts = self.ib.managedAccounts()
        account = self.configured_account or accounts[0]
        try:
            if account not in accounts:
                raise BrokerUnavailable(
                    f"account {masked_account(account)} is not managed by this IB login; "
                    "fix IB_ACCOUNT or log in to that account"
                )
            self.permission.check_account(account)
        except (BrokerUnavailable, LiveTradingRefused):
            self.close()
            raise
        self.account = account
        self.connects += 1
        logger.info(
            "connected to IB at %s as client %s, account %s",
            self.where,
            self.client_id,
            masked_account(account),
        )

    async def _connect_async(self):
        """ib_async waits its full timeout when the client id is refused (326); this does not."""
        refused = asyncio.get_running_loop().create_future()

        def on_error(req_id, code, message, contract):
            if code == CLIENT_ID_IN_USE and not refused.done():
                refused.set_result(message)

        self.ib.errorEvent += on_error
        connecting = asyncio.ensure_future(
            self.ib.connectAsync(
                self.host,
                self.port,
                self.client_id,
                timeout=self.timeout,
                account=self.configured_account or "",
            )
        )
        try:
            await asyncio.wait({connecting, refused}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.ib.errorEvent -= on_error
        if connecting.done():
            return connecting.result()
        connecting.cancel()
        with contextlib.suppress(BaseException):
            await connecting
        raise ClientIdInUse(
            f"IB at {self.where} refused client id {self.client_id}: already in use (error 326); "
            "set IB_CLIENT_ID to another number or close the other session"
        )

    def ensure_connected(self) -> None:
        """Reconnects after a drop, with exponential backoff; state is rebuilt from IB's replay."""
        if self.ib.isConnected():
            self.wait_until(
                lambda: False, 0
            )  # lets a pending close be noticed before trusting the socket
            if self.ib.isConnected():
                return
        error: BrokerUnavailable | None = None
        for attempt in range(self.reconnect_attempts):
            if attempt:
                self.sleep(self.reconnect_backoff * 2 ** (attempt - 1))
            try:
                self.connect()
                return
            except BrokerUnavailable as exc:
                error = exc
                logger.warning(
                    "IB connect attempt %d/%d failed: %s", attempt + 1, self.reconnect_attempts, exc
                )
        raise BrokerUnavailable(f"{error} (gave up after {self.reconnect_attempts} attempts)")

    def wait_until(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Runs the client's loop until `predicate()` holds or `timeout` passes; its final value."""

        async def until():
            await asyncio.sleep(0)
            while not predicate():
                await self.ib.updateEvent

        try:
            self.ib.run(asyncio.wait_for(until(), timeout if timeout > 0 else 0.001))
        except TimeoutError:
            pass
        except ConnectionError:
            if not self.ib.isConnected():
                logger.warning("IB connection to %s lost", self.where)
        return predicate()

    def call(self, request: Callable[[], Awaitable], what: str):
        """Sends one request (`request()` returns its awaitable), awaited within the timeout."""
        try:
            return self.ib.run(asyncio.wait_for(request(), self.timeout))
        except TimeoutError:
            raise BrokerUnavailable(
                f"IB at {self.where} did not answer the {what} request within "
                f"{self.timeout:g} s ({SETUP_HINT})"
            ) from None
        except ConnectionError:
            raise BrokerUnavailable(
                f"IB connection to {self.where} lost during the {what} request; "
                "it reconnects on the next call"
            ) from None

    def close(self) -> None:
        self._closing = True
        try:
            self.ib.disconnect()
        finally:
            self._closing = False

    def _on_error(self, req_id: int, code: int, message: str, contract) -> None:
        """Messages about the connection (request id -1): the farm notices are routine; others,
        like 2103 "Market data farm connection is broken" or 1100, are worth a look. Order
        messages reach the order's trade instead."""
        if req_id != -1 or code == CLIENT_ID_IN_USE:
            return
        text = " ".join(message.split())
        if code in NOTICES:
            logger.info("IB notice %d: %s", code, text)
        else:
            logger.warning("IB message %d from %s: %s", code, self.where, text)

    def _on_disconnected(self) -> None:
        if not self._closing:
            logger.warning("disconnected from IB at %s", self.where)
