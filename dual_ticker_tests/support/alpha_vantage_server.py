"""A loopback Alpha Vantage: `/query?function=TIME_SERIES_INTRADAY&...` answered like the provider
(Meta Data with "6. Time Zone": "US/Eastern", "Time Series (1min)" newest first, string values,
labels = bar START), from recorded sessions up to the simulator's now, with faults on demand.

    with AlphaVantageSimulator() as server:
        server.set_now("2020-11-24 15:00:00+00:00")
        server.serve_forming()      # also the minute in progress at now, with its values so far
        feed = AlphaVantageFeed("KEY", f"{server.url}/query", ...)
        server.inject("http_500", count=2)
        server.data_requests()[-1].params["apikey"]

Faults (`inject(kind, count=1, delay=..., lag=...)`): http_500, http_429, slow, hung,
throttle_note, throttle_information, premium_information, error_message, malformed_json,
empty_series, missing_series, stale. Splits (`add_split`): adjusted=true (the default) serves
split-adjusted prices as of now, adjusted=false the prices as traded. A request with
`entitlement=delayed` is answered as the delayed tier: nothing newer than 15 minutes before now.
"""

from __future__ import annotations

import json

import pandas as pd

from dual_ticker_tests.support.simulated_provider import (
    NO_LAG,
    Fault,
    ProviderSimulator,
    Reply,
    Request,
)

# Bodies as the provider sent them (../shared/fixtures/README.md).
NOTE = {
    "Note": "Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per "
    "minute and 500 calls per day. Please visit https://www.alphavantage.co/premium/ if you would "
    "like to target a higher API call frequency."
}
RATE_INFORMATION = {
    "Information": "Thank you for using Alpha Vantage! Our standard API rate limit is 25 requests "
    "per day. Please subscribe to any of the premium plans at https://www.alphavantage.co/premium/ "
    "to instantly remove all daily rate limits."
}
PREMIUM_INFORMATION = {
    "Information": "Thank you for using Alpha Vantage! This is a premium endpoint. You may "
    "subscribe to any of the premium plans at https://www.alphavantage.co/premium/ to instantly "
    "unlock all premium endpoints"
}
ERROR_MESSAGE = {
    "Error Message": "Invalid API call. Please retry or visit the documentation "
    "(https://www.alphavantage.co/documentation/) for TIME_SERIES_INTRADAY."
}
FIXED_BODIES = {
    "throttle_note": NOTE,
    "throttle_information": RATE_INFORMATION,
    "premium_information": PREMIUM_INFORMATION,
    "error_message": ERROR_MESSAGE,
}
INTERVAL_MINUTES = {"1min": 1, "5min": 5}
DELAYED = pd.Timedelta(minutes=15)
COMPACT_BARS = 100


def _json(payload: object, status: int = 200) -> Reply:
    return Reply(status, json.dumps(payload, indent=4).encode())


def aggregate(bars: pd.DataFrame, minutes: int, now: pd.Timestamp | None) -> pd.DataFrame:
    """Buckets of `minutes` labelled by their start; a bucket not complete by now is no bar."""
    if minutes == 1 or bars.empty:
        return bars
    grouped = bars.groupby(bars["timestamp"].dt.floor(f"{minutes}min")).agg(
        open=("open", "first"),
        high=("high", "max"),
        low=("low", "min"),
        close=("close", "last"),
        volume=("volume", "sum"),
    )
    grouped = grouped.rename_axis("timestamp").reset_index()
    if now is not None:
        grouped = grouped[grouped["timestamp"] + pd.Timedelta(minutes=minutes) <= now]
    return grouped


class AlphaVantageSimulator(ProviderSimulator):
    FAULTS = frozenset(
        {
            "http_500",
            "http_429",
            "slow",
            "hung",
            "malformed_json",
            "empty_series",
            "missing_series",
            "stale",
            *FIXED_BODIES,
        }
    )

    def is_data_request(self, request: Request) -> bool:
        return request.path.rstrip("/").endswith("/query")

    def reply(self, request: Request, fault: Fault | None) -> Reply:
        if not self.is_data_request(request):
            return Reply(404, b"Not Found", "text/plain")
        kind = fault.kind if fault else None
        if kind == "http_500":
            return Reply(500, b"<html><body>Internal Server Error</body></html>", "text/html")
        if kind == "http_429":
            return Reply(429, b"Too Many Requests", "text/plain")
        if kind in FIXED_BODIES:
            return _json(FIXED_BODIES[kind])
        if kind == "malformed_json":
            return Reply(200, b'{\n    "Meta Data": {\n        "1. Information": "Intraday (1min')
        params = request.params
        interval = params.get("interval", "")
        if (
            params.get("function") != "TIME_SERIES_INTRADAY"
            or interval not in INTERVAL_MINUTES
            or not params.get("apikey")
            or not self.knows(params.get("symbol", ""))
        ):
            return _json(ERROR_MESSAGE)
        symbol = params["symbol"].upper()
        lag = fault.lag if kind == "stale" else pd.Timedelta(0)
        if params.get("entitlement") == "delayed":  # the provider's delayed tier: 15 min behind
            lag += DELAYED
        bars = self.revealed(symbol, lag, regular_only=params.get("extended_hours") == "false")
        if params.get("adjusted", "true") != "false":  # the provider's default is adjusted
            bars = self.adjusted(symbol, bars)
        # A forming minute makes its bucket a forming bar too: served, not held back.
        bars = aggregate(
            bars,
            INTERVAL_MINUTES[interval],
            None if self.now is None or self.forming else self.now - lag,
        )
        if "month" in params:
            bars = bars[bars["timestamp"].dt.strftime("%Y-%m") == params["month"]]
        elif params.get("outputsize", "compact") == "compact":
            bars = bars.tail(COMPACT_BARS)
        return _json(self.rewritten(symbol, self.body(symbol, interval, bars, params, kind)))

    def swap_high_low(self, body: dict, start: pd.Timestamp) -> None:
        label = start.tz_convert("US/Eastern").strftime("%Y-%m-%d %H:%M:%S")
        for key, series in body.items():
            if key.startswith("Time Series") and label in series:
                bar = series[label]
                bar["2. high"], bar["3. low"] = bar["3. low"], bar["2. high"]

    def revealed(self, symbol, lag=NO_LAG, regular_only=True):
        if regular_only:
            return super().revealed(symbol, lag)
        return self.all_hours(symbol, lag)

    def all_hours(self, symbol: str, lag: pd.Timedelta) -> pd.DataFrame:
        return self.up_to_now(self._recordings.recorded(symbol), lag)

    @staticmethod
    def body(
        symbol: str, interval: str, bars: pd.DataFrame, params: dict, kind: str | None
    ) -> dict:
        newest_first = bars.sort_values("timestamp", ascending=False)
        labels = newest_first["timestamp"].dt.strftime("%Y-%m-%d %H:%M:%S")
        series = {
            label: {
                "1. open": f"{row.open:.4f}",
                "2. high": f"{row.high:.4f}",
                "3. low": f"{row.low:.4f}",
                "4. close": f"{row.close:.4f}",
                "5. volume": str(int(row.volume)),
            }
            for label, row in zip(labels, newest_first.itertuples(index=False), strict=True)
        }
        meta = {
            "1. Information": f"Intraday ({interval}) open, high, low, close prices and volume",
            "2. Symbol": symbol,
            "3. Last Refreshed": labels.iloc[0] if len(labels) else "",
            "4. Interval": interval,
            "5. Output Size": "Compact"
            if params.get("outputsize", "compact") == "compact"
            else "Full size",
            "6. Time Zone": "US/Eastern",
        }
        if kind == "missing_series":
            return {"Meta Data": meta}
        return {
            "Meta Data": meta,
            f"Time Series ({interval})": {} if kind == "empty_series" else series,
        }
