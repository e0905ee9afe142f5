"""Yahoo Finance 1-minute bars through yfinance: 7-day requests within the last 30 days, typed
failures, hosts redirectable to a simulator, and yfinance's caches in a folder the caller names."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import yfinance as yf
from yfinance.data import YfData
from yfinance.exceptions import YFException, YFRateLimitError, YFTickerMissingError

from dual_ticker.calendar.nyse import NEW_YORK, nyse
from dual_ticker.clock import SYSTEM_CLOCK, Clock, to_utc
from dual_ticker.feeds.base import (
    PRICE_COLUMNS,
    FeedCannotServe,
    FeedEmpty,
    FeedError,
    FeedThrottled,
    FeedUnavailable,
    FeedUnparseable,
    IntradayFeed,
    empty_bars,
    normalise_bars,
)
from dual_ticker.feeds.delivered import as_delivered
from dual_ticker.feeds.pacing import Deadline, RetryPolicy, TokenBucket
from dual_ticker.feeds.windows import (
    DEFAULT_STALENESS,
    chunks,
    complete_in_window,
    ensure_fresh,
    require_bars,
)
from dual_ticker.feeds.yahoo_session import new_session

FEED = "yahoo_finance"
BAR = pd.Timedelta(minutes=1)
MAX_REQUEST_SPAN = pd.Timedelta(days=7)
MAX_LOOKBACK = pd.Timedelta(days=30)
# yfinance keeps one session, crumb and response memo per process: one fetch at a time uses them.
_YFINANCE = threading.Lock()


def history_to_bars(history: pd.DataFrame, symbol: str) -> pd.DataFrame:
    """yfinance's 1m history (index in America/New_York) as bars: UTC starts, minutes without a
    trade (no price at all) dropped, a row with only some prices or no volume kept as delivered,
    and nothing starting at or after its session's close (Yahoo's extra row stamped at it)."""
    if history.empty:
        return empty_bars()
    frame = history.rename(columns=str.lower)[[*PRICE_COLUMNS, "volume"]]
    frame = frame[frame[PRICE_COLUMNS].notna().any(axis=1)]
    stamps = pd.DatetimeIndex(frame.index).tz_convert("UTC")
    days = stamps.tz_convert(NEW_YORK).normalize().tz_localize(None)
    calendar = nyse()
    closes = {day: calendar.session_close(day) for day in days.unique() if calendar.is_session(day)}
    # A bar dated on no session is kept: judging it is the gate's job, not the client's.
    close = pd.Series([closes.get(day, pd.NaT) for day in days], dtype="datetime64[ns, UTC]")
    keep = (close.isna() | (pd.Series(stamps) < close)).to_numpy()
    raw = frame[keep].reset_index(drop=True)
    raw.insert(0, "timestamp", [str(t) for t in frame.index[keep]])
    bars = as_delivered(raw, pd.Series(stamps[keep]))
    return normalise_bars(bars, symbol.upper(), FEED)


def _another_question(meta, symbol: str) -> str | None:
    """What makes a chart the answer to another request (its symbol or bar size), if anything:
    its bars must never be stored under the symbol and bar size asked for."""
    named, granularity = meta.get("symbol"), meta.get("dataGranularity")
    if named is not None and str(named).strip().upper() != symbol:
        return f"the chart is about {str(named)[:20]!r}, not {symbol}"
    if granularity is not None and granularity != "1m":
        return f"the chart holds {str(granularity)[:10]!r} bars, asked for 1m"
    return None


class YahooFinanceFeed(IntradayFeed):
    """1-minute bars via yfinance; windows older than 30 days before the clock's now are not served.

    `cache_dir` receives yfinance's timezone and cookie caches (never the home folder); they are
    process-wide in yfinance and stay in the first folder used, so give every client the same.
    `impersonate_browser` (default: on when curl_cffi is installed) uses yfinance's Chrome-like
    session, the one Yahoo accepts; off, a plain requests session (fine for the simulator).
    Fetches in one process take turns: yfinance shares one session and crumb between them.
    Prices are split-adjusted as of the request (Yahoo adjusts 1m OHLC and volume; yfinance's
    auto_adjust changes nothing without an adjclose): only the `adjusted` price basis is served.
    """

    name = FEED

    def __init__(
        self,
        cache_dir: Path | str,
        base_url: str | None = None,
        *,
        timeout_seconds: float = 10.0,
        retry_attempts: int = 3,
        retry_delay: float = 1.0,
        deadline_seconds: float = 45.0,
        rate_limit_per_minute: int = 60,
        staleness: pd.Timedelta = DEFAULT_STALENESS,
        clock: Clock = SYSTEM_CLOCK,
        impersonate_browser: bool = True,
        price_basis: str = "adjusted",
        limiter: TokenBucket | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        if price_basis != "adjusted":
            raise ValueError(
                f"{FEED} serves only price_basis adjusted (its 1m prices are split-adjusted), "
                f"not {price_basis!r}; use adjusted or another feed"
            )
        self.cache_dir = Path(cache_dir)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.base_url = base_url
        self.timeout_seconds = timeout_seconds
        self.deadline_seconds = deadline_seconds
        self.staleness = pd.Timedelta(staleness)
        self._clock = clock
        self._limiter = limiter or TokenBucket.shared(FEED, rate_limit_per_minute)
        self._retry = retry or RetryPolicy(attempts=retry_attempts, delay=retry_delay)
        self._sleep = sleep
        self._monotonic = monotonic
        self._session = new_session(base_url, timeout_seconds, impersonate_browser)
        with _YFINANCE:
            yf.set_tz_cache_location(str(self.cache_dir))
            # Failures must surface as exceptions; by default yfinance logs them, returns nothing.
            yf.config.debug.hide_exceptions = False

    @classmethod
    def from_settings(cls, cache_dir, feeds, endpoints, **overrides) -> YahooFinanceFeed:
        options = dict(
            timeout_seconds=feeds.timeout_seconds,
            retry_attempts=feeds.retry_attempts,
            retry_delay=feeds.retry_delay,
            deadline_seconds=feeds.deadline_seconds,
            price_basis=feeds.price_basis,
        )
        return cls(cache_dir, endpoints.yahoo_base_url, **(options | overrides))

    def __repr__(self) -> str:
        return f"YahooFinanceFeed(base_url={self.base_url!r}, cache_dir={str(self.cache_dir)!r})"

    def can_serve(self, start, as_of) -> bool:
        return to_utc(start) >= self._clock.now() - MAX_LOOKBACK

    def fetch_intraday(self, symbol, start, end, as_of):
        symbol = symbol.upper()
        start, end, as_of = to_utc(start), to_utc(end), to_utc(as_of)
        now = self._clock.now()
        if not self.can_serve(start, as_of):
            raise FeedCannotServe(
                FEED, f"{symbol}: 1m history reaches back 30 days from {now}; {start} is older"
            )
        stop = min(end, as_of)
        deadline = Deadline(self.deadline_seconds, self._monotonic)
        pieces = [
            self._chunk(symbol, a, b, deadline) for a, b in chunks(start, stop, MAX_REQUEST_SPAN)
        ]
        delivered = pd.concat(pieces) if pieces else empty_bars()
        complete = delivered[delivered["timestamp"] + BAR <= as_of]
        fresh_by = min(as_of, end, now)
        if now - fresh_by <= self.staleness:
            ensure_fresh(complete, FEED, symbol, fresh_by, self.staleness, BAR)
        window = complete_in_window(complete, start, end, as_of, BAR)
        require_bars(window, FEED, symbol, start, stop)
        return window

    def _chunk(self, symbol, start, stop, deadline: Deadline) -> pd.DataFrame:
        what = f"{symbol} {start}..{stop}"
        failure: FeedError = FeedUnavailable(FEED, f"{what}: no attempt fit in the deadline")
        for attempt in range(1, self._retry.attempts + 1):
            if not self._limiter.acquire(timeout=deadline.remaining()):
                raise FeedThrottled(
                    FEED, f"{what}: local rate limit leaves no request slot before the deadline"
                )
            if deadline.expired():
                break
            history, failure, retryable = self._history(symbol, start, stop, deadline)
            if failure is None:
                return history_to_bars(history, symbol)
            if not retryable:
                raise failure
            pause = self._retry.backoff(attempt)
            if attempt == self._retry.attempts or pause >= deadline.remaining():
                break
            self._sleep(pause)
        raise type(failure)(
            FEED, f"{str(failure).split(': ', 1)[-1]} (gave up after {attempt} attempt(s))"
        )

    def _history(self, symbol, start, stop, deadline):
        """One yfinance history call: (frame, None, _) or (None, typed failure, retryable)."""
        with _YFINANCE:
            # yfinance memoises responses for past windows (even errors): every try asks again.
            YfData.cache_get.cache_clear()
            self._session.time_left = deadline.remaining
            self._session.last_chart_status = None
            try:
                ticker = yf.Ticker(symbol, session=self._session)
                history = ticker.history(
                    interval="1m",
                    start=start,
                    end=stop,
                    prepost=False,
                    actions=False,
                    timeout=min(self.timeout_seconds, max(deadline.remaining(), 0.001)),
                )
                other = _another_question(ticker.get_history_metadata(), symbol)
                if other is not None:
                    return None, FeedUnparseable(FEED, f"{symbol} {start}..{stop}: {other}"), False
                return history, None, False
            except Exception as exc:  # yfinance raises many types; all become typed feed failures
                return (None, *self._classify(exc, f"{symbol} {start}..{stop}"))
            finally:
                self._session.time_left = None

    def _classify(self, exc: Exception, what: str) -> tuple[FeedError, bool]:
        status = self._session.last_chart_status
        kind = type(exc).__name__
        if isinstance(exc, YFRateLimitError) or status == 429:
            return FeedThrottled(FEED, f"{what}: Yahoo rate-limited the request"), False
        if status is not None and status >= 500:
            return FeedUnavailable(FEED, f"{what}: HTTP {status}"), True
        if status in (400, 422):
            return FeedCannotServe(
                FEED, f"{what}: Yahoo refused the range (HTTP {status}): {exc}"
            ), False
        if status is not None and status >= 400:
            return FeedUnavailable(FEED, f"{what}: HTTP {status}: {exc}"), False
        if isinstance(exc, ValueError):  # JSON decoding (requests' error is an OSError too)
            return FeedUnparseable(FEED, f"{what}: unreadable chart response ({kind})"), False
        if isinstance(exc, OSError):
            return FeedUnavailable(FEED, f"{what}: no response ({kind})"), True
        if isinstance(exc, YFTickerMissingError):
            return FeedEmpty(FEED, f"{what}: Yahoo sent no prices ({exc})"), False
        if isinstance(exc, YFException):
            return FeedUnavailable(FEED, f"{what}: {exc}"), False
        return FeedUnparseable(FEED, f"{what}: unreadable chart response ({kind}: {exc})"), False
