"""Alpha Vantage wire formats to bars: the TIME_SERIES_INTRADAY JSON (labels mark the bar START) and
the old TIME_SERIES_INTRADAY_EXTENDED CSV (labels mark the bar END), both to UTC bar starts."""

from __future__ import annotations

import io
import json
import re

import pandas as pd

from dual_ticker.calendar.nyse import NEW_YORK
from dual_ticker.feeds.base import (
    PRICE_COLUMNS,
    FeedEmpty,
    FeedError,
    FeedThrottled,
    FeedUnavailable,
    FeedUnparseable,
    normalise_bars,
)

FEED = "alpha_vantage"
INTERVALS = {"1min": pd.Timedelta(minutes=1), "5min": pd.Timedelta(minutes=5)}
FIELDS = [*PRICE_COLUMNS, "volume"]
# The provider rewords its notices often: classify by topic, never by exact text.
_THROTTLE_TOPIC = re.compile(
    r"\b(frequency|rate|limits?|per (second|minute|day)|calls?)\b", re.IGNORECASE
)


def _shorten(text: object, limit: int = 160) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def error_in_body(payload: object) -> FeedError | None:
    """The failure an HTTP 200 body stands for ("Error Message", "Note", "Information"), if any."""
    if not isinstance(payload, dict):
        return FeedUnparseable(FEED, f"expected a JSON object, got {type(payload).__name__}")
    if "Error Message" in payload:
        return FeedUnavailable(
            FEED,
            f"provider rejected the request: {_shorten(payload['Error Message'])}; "
            "check symbol and parameters",
        )
    for key in ("Note", "Information"):
        if key in payload:
            notice = _shorten(payload[key])
            if _THROTTLE_TOPIC.search(notice):
                return FeedThrottled(FEED, f"provider throttled the key ({key}): {notice}")
            return FeedUnavailable(FEED, f"provider refused the request ({key}): {notice}")
    return None


def _series_key(payload: dict) -> str | None:
    return next((key for key in payload if key.startswith("Time Series")), None)


def _time_zone(payload: dict) -> str:
    meta = payload.get("Meta Data")
    if not isinstance(meta, dict):
        return NEW_YORK
    # "6. Time Zone" today; match the name, not its number.
    return next((str(value) for key, value in meta.items() if key.endswith("Time Zone")), NEW_YORK)


def _field_name(key: str) -> str:
    return key.split(". ", 1)[-1].strip().lower()


def _bar_starts(labels: pd.Series, time_zone: str, shift: pd.Timedelta) -> pd.Series:
    try:
        wall = pd.to_datetime(labels, format="ISO8601")
        local = wall.dt.tz_localize(time_zone, ambiguous="raise", nonexistent="raise")
    except (ValueError, TypeError, KeyError) as exc:
        raise FeedUnparseable(
            FEED, f"unreadable bar time or time zone {time_zone!r}: {_shorten(exc)}"
        ) from None
    return (local - shift).dt.tz_convert("UTC")


def _numeric(frame: pd.DataFrame) -> pd.DataFrame:
    try:
        frame[PRICE_COLUMNS] = (
            frame[PRICE_COLUMNS].apply(pd.to_numeric, errors="raise").astype("float64")
        )
        volume = pd.to_numeric(frame["volume"], errors="raise")
        if volume.isna().any() or (volume != volume.round()).any():
            raise ValueError("volume must be whole numbers")
        frame["volume"] = volume.astype("int64")
    except (ValueError, TypeError) as exc:
        raise FeedUnparseable(FEED, f"non-numeric bar value: {_shorten(exc)}") from None
    return frame


def parse_intraday_json(payload: object, symbol: str) -> pd.DataFrame:
    """Bars of a TIME_SERIES_INTRADAY JSON response (labels: bar starts, Meta Data's time zone)."""
    failure = error_in_body(payload)
    if failure is not None:
        raise failure
    key = _series_key(payload)
    if key is None:
        raise FeedUnparseable(
            FEED,
            f"no 'Time Series (...)' in the response "
            f"(keys: {', '.join(map(str, payload)) or 'none'})",
        )
    series = payload[key]
    if not isinstance(series, dict):
        raise FeedUnparseable(
            FEED, f"'{key}' is a {type(series).__name__}, expected an object of bars"
        )
    if not series:
        raise FeedEmpty(FEED, f"{symbol}: the provider sent an empty '{key}'")
    rows = []
    for label, values in series.items():
        if not isinstance(values, dict):
            raise FeedUnparseable(FEED, f"bar {label!r} is not an object")
        row = {_field_name(name): value for name, value in values.items()}
        missing = [name for name in FIELDS if name not in row]
        if missing:
            raise FeedUnparseable(FEED, f"bar {label!r} lacks {', '.join(missing)}")
        rows.append({"timestamp": label, **{name: row[name] for name in FIELDS}})
    frame = pd.DataFrame(rows)
    frame["timestamp"] = _bar_starts(frame["timestamp"], _time_zone(payload), pd.Timedelta(0))
    return normalise_bars(_numeric(frame), symbol.upper(), FEED)


def decode_json(body: bytes) -> object:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FeedUnparseable(FEED, f"response is not valid JSON ({_shorten(exc, 80)})") from None


def parse_extended_csv(text: str, symbol: str, interval: str = "1min") -> pd.DataFrame:
    """Bars of the old TIME_SERIES_INTRADAY_EXTENDED CSV, whose labels mark the bar END
    (US/Eastern): one interval is subtracted so every bar is labelled by its start."""
    if text.lstrip().startswith("{"):
        failure = error_in_body(decode_json(text.encode()))
        raise failure or FeedUnparseable(FEED, "expected CSV, got a JSON object")
    try:
        frame = pd.read_csv(io.StringIO(text), dtype={"time": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise FeedUnparseable(FEED, f"not a readable CSV ({_shorten(exc)})") from None
    missing = [name for name in ["time", *FIELDS] if name not in frame.columns]
    if missing:
        raise FeedUnparseable(FEED, f"CSV lacks column(s) {', '.join(missing)}")
    if frame.empty:
        raise FeedEmpty(FEED, f"{symbol}: the CSV holds no bars")
    frame = frame.rename(columns={"time": "timestamp"})
    frame["timestamp"] = _bar_starts(frame["timestamp"], NEW_YORK, INTERVALS[interval])
    return normalise_bars(_numeric(frame), symbol.upper(), FEED)
