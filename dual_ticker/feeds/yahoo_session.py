"""The HTTP session handed to yfinance: routes its hard-coded Yahoo hosts to a base URL (a loopback
simulator in tests), bounds every request by the timeout and the fetch's deadline, and remembers the
status of the latest chart response so the client can type yfinance's failures."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

import requests

CHART_PATH = "/v8/finance/chart/"


class RoutedSession:
    """Mixin over a requests or curl_cffi Session (both are what yfinance accepts as `session=`).

    yfinance calls https://fc.yahoo.com (cookie), query1/query2.finance.yahoo.com
    (/v1/test/getcrumb, /v8/finance/chart/SYM) and guce/consent.yahoo.com (consent fallback), with
    fixed 30 s timeouts on some of them: with a base URL every one of those goes to
    base URL + original path, and every timeout is cut to what the fetch has left.
    """

    base_url: str | None = None
    time_left: Callable[[], float] | None = None
    timeout_cap: float = 10.0
    last_chart_status: int | None = None

    def route(self, url: str) -> str:
        if not self.base_url:
            return url
        base, original = urlsplit(self.base_url), urlsplit(url)
        path = base.path.rstrip("/") + (original.path or "/")
        return urlunsplit((base.scheme, base.netloc, path, original.query, ""))

    def _timeout(self, asked: float | None) -> float:
        cap = self.timeout_cap if asked is None else min(float(asked), self.timeout_cap)
        if self.time_left is not None:
            left = self.time_left()
            if left <= 0:
                # Builtin TimeoutError: yfinance treats it as transient on its cookie and crumb
                # calls and lets it through on the chart call, like a real timeout.
                raise TimeoutError("the fetch's deadline has passed")
            cap = min(cap, left)
        return cap

    def request(self, method, url, *args, **kwargs):
        kwargs["timeout"] = self._timeout(kwargs.get("timeout"))
        routed = self.route(url)
        response = super().request(method, routed, *args, **kwargs)
        if CHART_PATH in urlsplit(routed).path:
            self.last_chart_status = response.status_code
        return response


class RoutedRequestsSession(RoutedSession, requests.Session):
    """Plain requests: fine against the simulator; Yahoo itself tends to refuse it (HTTP 429)."""


try:
    from curl_cffi import requests as _curl_requests
except ImportError:  # yfinance falls back to requests too when curl_cffi is missing
    _curl_requests = None

if _curl_requests is not None:

    class RoutedBrowserSession(RoutedSession, _curl_requests.Session):
        """curl_cffi impersonating Chrome: yfinance's own default, the one Yahoo accepts."""

        def __init__(self, **kwargs):
            super().__init__(impersonate="chrome", **kwargs)

else:
    RoutedBrowserSession = None


def new_session(
    base_url: str | None, timeout_cap: float, impersonate_browser: bool
) -> RoutedSession:
    browser = impersonate_browser and RoutedBrowserSession is not None
    session = RoutedBrowserSession() if browser else RoutedRequestsSession()
    session.base_url = base_url
    session.timeout_cap = timeout_cap
    return session
