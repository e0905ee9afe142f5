"""Alpha Vantage TIME_SERIES_INTRADAY over httpx: per-request timeouts, a shared rate limit, bounded
retries inside a total deadline, typed failures, and an API key that never leaves the request."""

from __future__ import annotations

import functools
import logging
import re
import ssl
import time
from collections.abc import Callable
from urllib.parse import quote

import httpx
import pandas as pd

from dual_ticker.clock import SYSTEM_CLOCK, Clock, to_utc
from dual_ticker.feeds.alpha_vantage_parsing import (
    FEED,
    INTERVALS,
    decode_json,
    parse_intraday_json,
)
from dual_ticker.feeds.base import FeedError, FeedThrottled, FeedUnavailable, IntradayFeed
from dual_ticker.feeds.pacing import Deadline, RetryPolicy, TokenBucket
from dual_ticker.feeds.windows import (
    DEFAULT_STALENESS,
    complete_in_window,
    ensure_fresh,
    months_between,
    require_bars,
)

DEFAULT_BASE_URL = "https://www.alphavantage.co/query"
COMPACT_BARS = 100
# The `adjusted` parameter per price basis; literal strings, false must be sent explicitly.
ADJUSTED = {"adjusted": "true", "raw": "false"}
# Compact answers hold the latest 100 bars; ask for it only when the window lies well inside them.
COMPACT_MARGIN_BARS = 10
# The delayed entitlement's bars arrive this late (settings.DELAYED_ENTITLEMENT_MINUTES).
DELAYED_BY = pd.Timedelta(minutes=15)
_APIKEY_IN_TEXT = re.compile(r"(apikey=)[^&\s\"'>]+", re.IGNORECASE)
log = logging.getLogger(__name__)


class RedactApiKey(logging.Filter):
    """httpx logs each request's full URL, apikey included, at INFO: keep the line, drop the key."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "apikey=" in message.lower():
            record.msg, record.args = _APIKEY_IN_TEXT.sub(r"\1***", message), None
        return True


def _redact_http_logs() -> None:
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        if not any(isinstance(existing, RedactApiKey) for existing in logger.filters):
            logger.addFilter(RedactApiKey())


_redact_http_logs()


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context per process: building one loads the CA bundle (30-50 ms here), and the
    feeds are built for every run."""
    return httpx.create_ssl_context()


class AlphaVantageFeed(IntradayFeed):
    """1-minute (or 5-minute) bars from TIME_SERIES_INTRADAY, regular session, on the configured
    price basis: `adjusted` (the provider's default: split- and dividend-adjusted as of the request)
    or `raw` (as traded).

    Live windows (starting within the latest ~90 bars of the clock's now) use outputsize=compact;
    anything older uses month=YYYY-MM with outputsize=full, one request per month touched.
    `retry_attempts` counts every try of a request, the first included.
    """

    name = FEED

    def __init__(
        self,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        interval: str = "1min",
        entitlement: str | None = "realtime",
        price_basis: str = "adjusted",
        timeout_seconds: float = 10.0,
        retry_attempts: int = 3,
        retry_delay: float = 1.0,
        deadline_seconds: float = 45.0,
        rate_limit_per_minute: int = 75,
        staleness: pd.Timedelta = DEFAULT_STALENESS,
        clock: Clock = SYSTEM_CLOCK,
        limiter: TokenBucket | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        transport: httpx.BaseTransport | None = None,
    ):
        if interval not in INTERVALS:
            raise ValueError(f"interval {interval!r} is not one of {', '.join(INTERVALS)}")
        self._api_key = api_key or ""
        self.base_url = base_url
        self.interval = interval
        self.bar = INTERVALS[interval]
        self.entitlement = entitlement
        if price_basis not in ADJUSTED:
            raise ValueError(f"price_basis {price_basis!r} is not one of {', '.join(ADJUSTED)}")
        self.price_basis = price_basis
        self.timeout_seconds = timeout_seconds
        self.deadline_seconds = deadline_seconds
        self.staleness = pd.Timedelta(staleness)
        self._clock = clock
        self._limiter = limiter or TokenBucket.shared(FEED, rate_limit_per_minute)
        self._retry = retry or RetryPolicy(attempts=retry_attempts, delay=retry_delay)
        self._sleep = sleep
        self._monotonic = monotonic
        self._http = httpx.Client(transport=transport, follow_redirects=False, verify=_tls())

    @classmethod
    def from_settings(cls, api_key: str, feeds, endpoints, **overrides) -> AlphaVantageFeed:
        """Built from `FeedSettings` and `Endpoints`; keyword overrides win (e.g. clock=...)."""
        options = dict(
            entitlement=feeds.entitlement,
            price_basis=feeds.price_basis,
            timeout_seconds=feeds.timeout_seconds,
            retry_attempts=feeds.retry_attempts,
            retry_delay=feeds.retry_delay,
            deadline_seconds=feeds.deadline_seconds,
            rate_limit_per_minute=feeds.rate_limit_per_minute,
        )
        return cls(api_key, endpoints.alphavantage_base_url, **(options | overrides))

    def __repr__(self) -> str:
        return f"AlphaVantageFeed(base_url={self.base_url!r}, interval={self.interval!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> AlphaVantageFeed:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def fetch_intraday(self, symbol, start, end, as_of):
        start, end, as_of = to_utc(start), to_utc(end), to_utc(as_of)
        try:
            return self._fetch_window(symbol.upper(), start, end, as_of)
        except FeedError as error:
            failure = error
        # Raised outside the handler so no exception context rides along; scrubbed in case a
        # provider message ever echoes the key.
        raise self._scrubbed(failure)

    def _fetch_window(self, symbol, start, end, as_of) -> pd.DataFrame:
        if not self._api_key:
            raise FeedUnavailable(FEED, "no API key; set ALPHAVANTAGE_API_KEY")
        deadline = Deadline(self.deadline_seconds, self._monotonic)
        now = self._clock.now()
        if now - start <= (COMPACT_BARS - COMPACT_MARGIN_BARS) * self.bar:
            requests = [{"outputsize": "compact"}]
        else:
            requests = [
                {"outputsize": "full", "month": m} for m in months_between(start, min(end, as_of))
            ]
        delivered = pd.concat([self._request(symbol, extra, deadline) for extra in requests])
        delivered = delivered.drop_duplicates(ignore_index=True)
        stamps = delivered["timestamp"]
        complete = delivered[(stamps + self.bar <= as_of) | stamps.isna()]
        # A delayed key has nothing newer than now - 15 min: fresh means fresh by then.
        latest = now - (DELAYED_BY if self.entitlement == "delayed" else pd.Timedelta(0))
        fresh_by = min(as_of, end, latest)
        if latest - fresh_by <= self.staleness:
            ensure_fresh(complete, FEED, symbol, fresh_by, self.staleness, self.bar)
        window = complete_in_window(complete, start, end, as_of, self.bar)
        require_bars(window, FEED, symbol, start, min(end, as_of))
        return window

    def _params(self, symbol: str, extra: dict) -> dict:
        params = {
            "function": "TIME_SERIES_INTRADAY",
            "symbol": symbol,
            "interval": self.interval,
            # Literal strings: the provider's default for both is true, and false must be sent.
            "extended_hours": "false",
            "adjusted": ADJUSTED[self.price_basis],
            "datatype": "json",
            **extra,
        }
        if self.entitlement:
            params["entitlement"] = self.entitlement
        return params | {"apikey": self._api_key}

    def _request(self, symbol: str, extra: dict, deadline: Deadline) -> pd.DataFrame:
        what = f"{symbol} {extra.get('month', 'compact')}"
        problem = "no attempt fit in the deadline"
        throttled = False
        for attempt in range(1, self._retry.attempts + 1):
            if not self._limiter.acquire(timeout=deadline.remaining()):
                raise FeedThrottled(
                    FEED, f"{what}: local rate limit leaves no request slot before the deadline"
                )
            timeout = min(self.timeout_seconds, deadline.remaining())
            if timeout <= 0:
                break
            response, problem = self._send(self._params(symbol, extra), timeout)
            if response is not None and response.status_code == 200:
                payload = decode_json(self._without_key(response.content))
                return parse_intraday_json(payload, symbol, self.interval)
            throttled = response is not None and response.status_code == 429
            if response is not None and response.status_code < 500 and not throttled:
                raise FeedUnavailable(FEED, f"{what}: {problem}; check the base URL and parameters")
            log.debug("%s %s attempt %d failed: %s", FEED, what, attempt, problem)
            pause = self._retry.backoff(attempt)
            if attempt == self._retry.attempts or pause >= deadline.remaining():
                break
            self._sleep(pause)
        error = FeedThrottled if throttled else FeedUnavailable
        raise error(
            FEED,
            f"{what}: {problem} (gave up after {attempt} attempt(s), "
            f"deadline {self.deadline_seconds}s)",
        )

    def _send(self, params: dict, timeout: float) -> tuple[httpx.Response | None, str]:
        """One GET; transport failures come back as text so nothing carrying the URL is raised."""
        try:
            response = self._http.get(self.base_url, params=params, timeout=timeout)
        except httpx.TimeoutException:
            return None, f"no response within {timeout:.1f}s"
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            return None, f"transport error {type(exc).__name__}"
        return response, f"HTTP {response.status_code}"

    def _without_key(self, body: bytes) -> bytes:
        """The body with any echo of the key hidden before parsing: an error message quoting the
        request may be shortened later, and a shortened key can no longer be found and scrubbed."""
        for form in {self._api_key, quote(self._api_key, safe="")}:
            body = body.replace(form.encode(), b"***")
        return body

    def _scrubbed(self, error: FeedError) -> FeedError:
        text = str(error)
        if not self._api_key or self._api_key not in text:
            return error
        message = text.split(": ", 1)[-1].replace(self._api_key, "***")
        return type(error)(error.feed, message)
