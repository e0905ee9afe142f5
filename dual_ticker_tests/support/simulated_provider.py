"""What the provider simulators share: a loopback HTTP server in a thread, recorded sessions
revealed up to a settable "now", a log of the requests received, and faults injected on demand.

    with AlphaVantageSimulator(replay_dir) as server:     # or server.start() / server.stop()
        server.set_now("2020-11-24 15:00:00+00:00")       # bars complete by then exist
        server.inject("http_500", count=2)                 # the next two data requests fail
        server.set_mode("throttle_note")                   # every data request, until clear()
        server.serve_forming()                             # also the minute still forming at now
        server.set_body(b"<html>...")                      # every data request gets these bytes
        server.rewrite_bodies(lambda symbol, body: ...)    # edit each data answer's JSON body
        server.add_split("NVDA", "2024-06-10", 10)          # adjusted prices from that open on
        server.serve_bad_bar("MSFT", "2020-12-01 09:45-05:00")  # that bar with high < low
        ... server.url ... server.requests ... server.data_requests() ...
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pandas as pd

from dual_ticker.calendar.nyse import NEW_YORK, nyse
from dual_ticker.clock import to_utc
from dual_ticker.feeds.replay import ReplayFeed

REPLAY_DIR = Path(__file__).resolve().parents[2] / "data" / "replay"
SLOW_SECONDS = 2.0
HUNG_SECONDS = 30.0
NO_LAG = pd.Timedelta(0)
MINUTE = pd.Timedelta(minutes=1)


@dataclass(frozen=True)
class Request:
    """One request as received (query string as a dict, secrets included: tests assert on it)."""

    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()


@dataclass
class Fault:
    kind: str
    remaining: int | None  # None: until cleared
    delay: float
    lag: pd.Timedelta


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle on, the body waits ~40 ms for the
    # client's delayed ACK on every keep-alive request.
    disable_nagle_algorithm = True

    def log_message(self, *args) -> None:  # the simulator keeps its own request log
        pass

    def do_GET(self) -> None:
        self.server.simulator.serve(self)

    do_POST = do_GET


class ProviderSimulator:
    """Base of the simulators; subclasses declare FAULTS, data_path(), and answer in reply()."""

    FAULTS: frozenset[str] = frozenset()
    TIMING_FAULTS = frozenset({"slow", "hung"})

    def __init__(self, replay_dir: Path | str = REPLAY_DIR, now: pd.Timestamp | str | None = None):
        self.replay_dir = Path(replay_dir)
        self._recordings = ReplayFeed(replay_dir)
        self._now = None if now is None else to_utc(now)
        self._forming = False
        self._body: Reply | None = None
        self._lock = threading.Lock()
        self.in_flight = self.most_in_flight = 0
        self._faults: list[Fault] = []
        self._requests: list[Request] = []
        self._release = threading.Event()
        self._rewrite: Callable[[str, dict], None] | None = None
        self._splits: dict[str, list[tuple[pd.Timestamp, float]]] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> ProviderSimulator:
        self._release.clear()
        self.load_recordings()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.simulator = self
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name=type(self).__name__,
        )
        self._thread.start()
        return self

    def load_recordings(self) -> None:
        """Reads the recordings and builds the calendar before serving, so the first reply is as
        quick as every later one (a client's short timeout must not depend on test order)."""
        for path in sorted(self.replay_dir.glob("*.csv")):
            self.revealed(path.stem)

    def stop(self) -> None:
        self._release.set()  # hung responses give up at once
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def set_now(self, moment: pd.Timestamp | str | None) -> None:
        """The simulator's clock: only bars complete by now are served (None: whole recording)."""
        with self._lock:
            self._now = None if moment is None else to_utc(moment)

    def serve_forming(self, enabled: bool = True) -> None:
        """Like the providers, also serve the minute still forming at now (start < now < start +
        1 min) with its values so far; once now passes its end, the final values are served."""
        with self._lock:
            self._forming = enabled

    @property
    def forming(self) -> bool:
        with self._lock:
            return self._forming

    @property
    def now(self) -> pd.Timestamp | None:
        with self._lock:
            return self._now

    def inject(
        self,
        kind: str,
        count: int | None = 1,
        *,
        delay: float | None = None,
        lag: str | pd.Timedelta = "1h",
    ) -> None:
        """Queues a fault for the next `count` data requests (None: all, until clear()).

        `delay`: seconds of "slow" (default 2, then a normal answer) or "hung" (default 30, no
        answer at all; stop() ends it at once). `lag`: how far behind "stale" data is.
        """
        if kind not in self.FAULTS:
            raise ValueError(f"unknown fault {kind!r}; one of {', '.join(sorted(self.FAULTS))}")
        if delay is None:
            delay = HUNG_SECONDS if kind == "hung" else SLOW_SECONDS
        with self._lock:
            self._faults.append(Fault(kind, count, delay, pd.Timedelta(lag)))

    def set_mode(self, kind: str | None, **options) -> None:
        """Every data request gets this fault until changed (None: healthy)."""
        self.clear()
        if kind is not None:
            self.inject(kind, count=None, **options)

    def set_body(
        self, body: bytes | None, status: int = 200, content_type: str = "application/json"
    ) -> None:
        """Every data request is answered with exactly these bytes (None: answered as usual):
        bodies no provider meant to send, for fuzzing the clients."""
        with self._lock:
            self._body = None if body is None else Reply(status, body, content_type)

    def rewrite_bodies(self, edit: Callable[[str, dict], None] | None) -> None:
        """Every data answer's JSON body goes through edit(symbol, body) before it is sent (a
        provider delivering malformed rows); None: bodies as recorded."""
        with self._lock:
            self._rewrite = edit

    def serve_bad_bar(self, symbol: str, start: pd.Timestamp | str) -> None:
        """Every data answer for `symbol` that holds the bar starting at `start` serves it with
        its high and low swapped (high < low), until clear() or another rewrite."""
        moment = to_utc(start)
        self.rewrite_bodies(
            lambda name, body: self.swap_high_low(body, moment) if name == symbol else None
        )

    def swap_high_low(self, body: dict, start: pd.Timestamp) -> None:
        raise NotImplementedError

    def rewritten(self, symbol: str, body: dict) -> dict:
        with self._lock:
            edit = self._rewrite
        if edit is not None:
            edit(symbol, body)
        return body

    def add_split(self, symbol: str, day: str, ratio: float) -> None:
        """The provider learns of a split: `ratio` new shares for one, effective at `day`'s open.
        Recordings are as traded; once now reaches the open, adjusted answers divide the prices of
        every earlier bar by the ratio and multiply its volume (as both providers do)."""
        effective = nyse().session_open(pd.Timestamp(day))
        with self._lock:
            self._splits.setdefault(symbol.upper(), []).append((effective, float(ratio)))

    def splits(self, symbol: str) -> list[tuple[pd.Timestamp, float]]:
        """The symbol's splits effective by now (all of them without a now): (open UTC, ratio)."""
        now = self.now
        with self._lock:
            known = list(self._splits.get(symbol.upper(), []))
        return [(at, ratio) for at, ratio in known if now is None or at <= now]

    def adjusted(self, symbol: str, bars: pd.DataFrame) -> pd.DataFrame:
        """The bars on the adjusted basis as of now: each split after a bar's start scales it."""
        factor = pd.Series(1.0, index=bars.index)
        for effective, ratio in self.splits(symbol):
            factor[bars["timestamp"] < effective] *= ratio
        prices = ["open", "high", "low", "close"]
        adjusted = bars.assign(volume=(bars["volume"] * factor).round().astype("int64"))
        adjusted[prices] = bars[prices].div(factor, axis=0).round(4)
        return adjusted

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self._body = None
            self._rewrite = None

    @property
    def requests(self) -> list[Request]:
        with self._lock:
            return list(self._requests)

    def data_requests(self) -> list[Request]:
        return [request for request in self.requests if self.is_data_request(request)]

    def _take_fault(self) -> Fault | None:
        with self._lock:
            if not self._faults:
                return None
            fault = self._faults[0]
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.pop(0)
            return fault

    def serve(self, handler: BaseHTTPRequestHandler) -> None:
        split = urlsplit(handler.path)
        request = Request(
            handler.command, split.path, dict(parse_qsl(split.query)), dict(handler.headers)
        )
        with self._lock:
            self._requests.append(request)
        with self._lock:
            fixed = self._body if self.is_data_request(request) else None
        if fixed is not None:
            self._send(handler, fixed)
            return
        data = self.is_data_request(request)
        with self._lock:  # how many data requests were answered at once, at most
            self.in_flight += data
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            self._answer(handler, request, data)
        finally:
            with self._lock:
                self.in_flight -= data

    def _answer(self, handler: BaseHTTPRequestHandler, request: Request, data: bool) -> None:
        fault = self._take_fault() if data else None
        if fault is not None and fault.kind == "hung":
            self._release.wait(fault.delay)
            handler.close_connection = True
            return
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.delay)
        try:
            reply = self.reply(
                request, None if fault is None or fault.kind in self.TIMING_FAULTS else fault
            )
        except Exception as exc:  # a simulator bug shows as an answer, not as a dropped connection
            reply = Reply(500, f"simulator error: {exc!r}".encode(), "text/plain")
        self._send(handler, reply)

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, reply: Reply) -> None:
        try:
            handler.send_response(reply.status)
            handler.send_header("Content-Type", reply.content_type)
            handler.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers:
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            handler.close_connection = True  # the client gave up (timeout) before the answer

    def is_data_request(self, request: Request) -> bool:
        raise NotImplementedError

    def reply(self, request: Request, fault: Fault | None) -> Reply:
        raise NotImplementedError

    def knows(self, symbol: str) -> bool:
        return (self.replay_dir / f"{symbol.upper()}.csv").is_file()

    def revealed(self, symbol: str, lag: pd.Timedelta = NO_LAG) -> pd.DataFrame:
        """Recorded regular-session bars complete by now - lag (timestamps in New York time)."""
        return self.up_to_now(regular_session(self._recordings.recorded(symbol)), lag)

    def up_to_now(self, bars: pd.DataFrame, lag: pd.Timedelta = NO_LAG) -> pd.DataFrame:
        """The bars complete by now - lag, plus the forming one when served (New York time)."""
        now = self.now
        if now is not None:
            now = now - lag
            ends = bars["timestamp"] + MINUTE
            forming = bars[(bars["timestamp"] < now) & (ends > now)] if self.forming else bars[:0]
            bars = pd.concat([bars[ends <= now], forming_values(forming, now)])
        return bars.assign(timestamp=bars["timestamp"].dt.tz_convert(NEW_YORK)).reset_index(
            drop=True
        )


def forming_values(bars: pd.DataFrame, now: pd.Timestamp) -> pd.DataFrame:
    """The trades so far of minutes in progress at now: the open, the path from it towards the
    final close in proportion to the time elapsed, and that share of the volume."""
    if bars.empty:
        return bars
    elapsed = ((now - bars["timestamp"]) / MINUTE).clip(0, 1)
    close = (bars["open"] + (bars["close"] - bars["open"]) * elapsed).round(4)
    return bars.assign(
        high=pd.concat([bars["open"], close], axis=1).max(axis=1),
        low=pd.concat([bars["open"], close], axis=1).min(axis=1),
        close=close,
        volume=(bars["volume"] * elapsed).astype("int64"),
    )


def regular_session(bars: pd.DataFrame) -> pd.DataFrame:
    """Bars starting within their day's regular session (open <= start < close)."""
    if bars.empty:
        return bars
    days = bars["timestamp"].dt.tz_convert(NEW_YORK).dt.normalize().dt.tz_localize(None)
    schedule = nyse().schedule.reindex(days)
    stamps = pd.DatetimeIndex(bars["timestamp"]).tz_convert("UTC")
    keep = (stamps >= pd.DatetimeIndex(schedule["open"])) & (
        stamps < pd.DatetimeIndex(schedule["close"])
    )
    return bars[keep]
