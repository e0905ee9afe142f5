"""A loopback Yahoo Finance for yfinance: the cookie endpoint (fc.yahoo.com, path "/"), the crumb
(`/v1/test/getcrumb`) and `/v8/finance/chart/{SYM}?period1&period2&interval=1m` answered with the v8
chart JSON (meta from a recorded response; bar-start epoch seconds; null quotes for minutes without
trades; the extra 16:00 row with volume 0), from recorded sessions up to the simulator's now.
Yahoo's 1m limits are enforced: more than 7 days a request, or a start over 30 days before now, get
HTTP 422 with Yahoo's error body.

    with YahooSimulator() as server:
        server.set_now("2020-12-18 21:00:00+00:00")
        server.serve_forming()               # also the minute in progress, with its values so far
        feed = YahooFinanceFeed(cache_dir, base_url=server.url, ...)
        server.inject("http_500", count=2)   # yfinance asks twice on a 4xx/5xx answer
        server.data_requests()               # chart requests with period1/period2

Faults: http_500, rate_limited (HTTP 429), slow, hung, malformed_json, empty, stale. Splits
(`add_split`): prices split-adjusted as of now, like Yahoo's, and the chart's events.splits.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path

import pandas as pd

from dual_ticker.calendar.nyse import NEW_YORK, nyse
from dual_ticker_tests.support.simulated_provider import (
    NO_LAG,
    Fault,
    ProviderSimulator,
    Reply,
    Request,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "yahoo"
CHART = "/v8/finance/chart/"
CRUMB = "sim-Qz7vX3kP9w"  # canary-like: tests assert it never shows in an error
MAX_SPAN_SECONDS = 7 * 86400
MAX_LOOKBACK = pd.Timedelta(days=30)


@lru_cache(maxsize=4)
def recorded_body(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())["response"]["bodyJson"]


def chart_error(description: str, status: int = 422, code: str = "Unprocessable Entity") -> Reply:
    body = {"chart": {"result": None, "error": {"code": code, "description": description}}}
    return Reply(status, json.dumps(body).encode())


def _epoch(moment: pd.Timestamp) -> int:
    return int(moment.timestamp())


def _period(start: pd.Timestamp, end: pd.Timestamp) -> dict:
    local = start.tz_convert(NEW_YORK)
    offset = int(local.utcoffset().total_seconds())
    return {
        "timezone": local.tzname(),
        "start": _epoch(start),
        "end": _epoch(end),
        "gmtoffset": offset,
    }


def _split(effective: pd.Timestamp, ratio: float) -> dict:
    """A split event as in the recorded chart (chart_v8_nvda_1d_2021_split.json)."""
    return {
        "date": _epoch(effective),
        "numerator": ratio,
        "denominator": 1,
        "splitRatio": f"{ratio:g}:1",
    }


class YahooSimulator(ProviderSimulator):
    FAULTS = frozenset(
        {"http_500", "rate_limited", "slow", "hung", "malformed_json", "empty", "stale"}
    )

    def is_data_request(self, request: Request) -> bool:
        return request.path.startswith(CHART) and "period1" in request.params

    def reply(self, request: Request, fault: Fault | None) -> Reply:
        if request.path in ("", "/"):
            # fc.yahoo.com answers 404 and sets the cookie the crumb goes with.
            return Reply(
                404, b"Not Found", "text/plain", (("Set-Cookie", "A3=d=simulated; Path=/"),)
            )
        if request.path == "/v1/test/getcrumb":
            return Reply(200, CRUMB.encode(), "text/plain")
        if not request.path.startswith(CHART):
            return Reply(404, b"Not Found", "text/plain")
        symbol = request.path[len(CHART) :].upper()
        if not self.knows(symbol):
            return chart_error("No data found, symbol may be delisted", 404, "Not Found")
        if "period1" not in request.params:
            return self.json(self.empty_chart(symbol))  # yfinance's time-zone probe (range=1d)
        kind = fault.kind if fault else None
        if kind == "http_500":
            return Reply(500, b"<html><body>Internal Server Error</body></html>", "text/html")
        if kind == "rate_limited":
            return Reply(429, b"Too Many Requests", "text/plain")
        if kind == "malformed_json":
            return Reply(200, b'{"chart":{"result":[{"meta":{"currency":"USD"')
        return self.chart(symbol, request.params, fault)

    @staticmethod
    def json(body: dict) -> Reply:
        return Reply(200, json.dumps(body).encode())

    def reference_now(self, symbol: str) -> pd.Timestamp:
        if self.now is not None:
            return self.now
        bars = self.revealed(symbol)
        return bars["timestamp"].max().tz_convert("UTC") + pd.Timedelta(minutes=1)

    def chart(self, symbol: str, params: dict, fault: Fault | None) -> Reply:
        try:
            first, last = int(params["period1"]), int(params["period2"])
        except (KeyError, ValueError):
            return chart_error("Invalid input - period1 and period2 must be epoch seconds", 400)
        if params.get("interval") != "1m":
            return chart_error(
                f"Invalid input - interval={params.get('interval')} is not served here", 400
            )
        if last - first > MAX_SPAN_SECONDS:
            return chart_error(
                "Only 7 days worth of 1m granularity data are allowed to be fetched per request."
            )
        now = self.reference_now(symbol)
        if pd.Timestamp(first, unit="s", tz="UTC") < now - MAX_LOOKBACK:
            return chart_error(
                f"1m data not available for startTime={first} and endTime={last}. "
                "The requested range must be within the last 30 days."
            )
        if fault is not None and fault.kind == "empty":
            return self.json(self.empty_chart(symbol))
        lag = fault.lag if fault is not None and fault.kind == "stale" else pd.Timedelta(0)
        start, end = pd.Timestamp(first, unit="s", tz="UTC"), pd.Timestamp(last, unit="s", tz="UTC")
        return self.json(self.rewritten(symbol, self.chart_body(symbol, start, end, now, lag)))

    def swap_high_low(self, body: dict, start: pd.Timestamp) -> None:
        result = body["chart"]["result"][0]
        stamps = result.get("timestamp", [])
        if _epoch(start) in stamps:
            at = stamps.index(_epoch(start))
            quote = result["indicators"]["quote"][0]
            quote["high"][at], quote["low"][at] = quote["low"][at], quote["high"][at]

    def meta(self, symbol: str, now: pd.Timestamp) -> dict:
        meta = copy.deepcopy(
            recorded_body("chart_v8_aapl_1d_2020-01-02.json")["chart"]["result"][0]["meta"]
        )
        calendar = nyse()
        session = calendar.date_to_session(
            now.tz_convert(NEW_YORK).tz_localize(None).normalize(), "previous"
        )
        opened, closed = calendar.session_open(session), calendar.session_close(session)
        day = opened.tz_convert(NEW_YORK).normalize()
        meta.update(
            symbol=symbol,
            longName=symbol,
            shortName=symbol,
            dataGranularity="1m",
            range="",
            exchangeTimezoneName=NEW_YORK,
            timezone=_period(opened, closed)["timezone"],
            gmtoffset=_period(opened, closed)["gmtoffset"],
            regularMarketTime=_epoch(min(now, closed)),
            currentTradingPeriod={
                "pre": _period(day + pd.Timedelta(hours=4), opened),
                "regular": _period(opened, closed),
                "post": _period(closed, day + pd.Timedelta(hours=20)),
            },
        )
        return meta

    def empty_chart(self, symbol: str) -> dict:
        body = copy.deepcopy(recorded_body("chart_v8_aapl_1m_weekend_empty.json"))
        body["chart"]["result"][0]["meta"] = self.meta(symbol, self.reference_now(symbol))
        return body

    def chart_body(
        self,
        symbol: str,
        start: pd.Timestamp,
        end: pd.Timestamp,
        now: pd.Timestamp,
        lag: pd.Timedelta = NO_LAG,
    ) -> dict:
        now = now - lag
        bars = self.adjusted(symbol, self.revealed(symbol, lag))  # Yahoo's 1m is split-adjusted
        bars = bars.assign(timestamp=bars["timestamp"].dt.tz_convert("UTC")).set_index("timestamp")
        shown = bars.index + pd.Timedelta(minutes=1) <= now
        if self.forming:
            shown |= bars.index < now
        bars = bars[shown]
        calendar = nyse()
        sessions = calendar.sessions_in_range(
            start.tz_convert(NEW_YORK).tz_localize(None).normalize(),
            end.tz_convert(NEW_YORK).tz_localize(None).normalize(),
        )
        stamps, rows, periods = [], [], []
        minute = pd.Timedelta(minutes=1)
        for session in sessions:
            opened, closed = calendar.session_open(session), calendar.session_close(session)
            periods.append([_period(opened, closed)])
            grid = pd.date_range(opened, closed - minute, freq="1min")
            day = bars[(bars.index >= opened) & (bars.index < closed)]
            grid = grid[
                (grid >= start) & (grid < end) & ((grid + minute <= now) | grid.isin(day.index))
            ]
            for moment in grid:
                stamps.append(_epoch(moment))
                rows.append(day.loc[moment] if moment in day.index else None)
            if start <= closed < end and closed <= now and not day.empty:
                # Yahoo's extra row stamped at the close: the last price, no volume.
                last = day["close"].iloc[-1]
                stamps.append(_epoch(closed))
                rows.append(
                    pd.Series({"open": last, "high": last, "low": last, "close": last, "volume": 0})
                )
        body = {"chart": {"result": [{"meta": self.meta(symbol, now)}], "error": None}}
        result = body["chart"]["result"][0]
        result["meta"]["tradingPeriods"] = periods
        if not stamps:
            result["indicators"] = {"quote": [{}]}
            return body
        result["timestamp"] = stamps
        splits = [(at, ratio) for at, ratio in self.splits(symbol) if start <= at < end]
        if splits:
            result["events"] = {"splits": {str(_epoch(at)): _split(at, r) for at, r in splits}}
        quote = {
            name: [None if row is None else float(row[name]) for row in rows]
            for name in ("open", "high", "low", "close")
        }
        quote["volume"] = [None if row is None else int(row["volume"]) for row in rows]
        result["indicators"] = {"quote": [quote]}
        return body
