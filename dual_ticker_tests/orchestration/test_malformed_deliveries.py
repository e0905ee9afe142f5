"""Malformed rows on the wire of Alpha Vantage (JSON) and Yahoo (v8 chart through yfinance), served
by the loopback simulators, through the real graph: quarantined as delivered with the run and why,
blocked at the named check, counted once, nothing of the session past the gate."""

import pandas as pd
import pytest

from dual_ticker.clock import FixedClock
from dual_ticker.settings import load_settings
from dual_ticker_tests.support.alpha_vantage_server import AlphaVantageSimulator
from dual_ticker_tests.support.pipeline import check_evaluations, materialize
from dual_ticker_tests.support.quarantine import (
    CHECK_REASONS,
    failure_total,
    later_rows,
    quarantined,
)
from dual_ticker_tests.support.yahoo_server import YahooSimulator

SESSION = "2020-12-01"
LABEL = f"{SESSION} 12:45:00"
AFTER_CLOSE = pd.Timestamp(f"{SESSION} 16:05", tz="America/New_York").tz_convert("UTC")


def _settings(test_home, primary, fallback, **urls):
    settings = load_settings(
        {"DUAL_TICKER_ENV": "prod", "DUAL_TICKER_HOME": str(test_home)}
        | {key: value for key, value in urls.items()}
    )
    feeds = settings.feeds.model_copy(
        update={
            "primary": primary,
            "fallback": fallback,
            "retry_attempts": 1,
            "timeout_seconds": 5,
            "deadline_seconds": 20,
            "rate_limit_per_minute": 60_000,
        }
    )
    return settings.model_copy(update={"feeds": feeds, "validation_profile": "standard"})


def _av_bar(body, label=LABEL):
    return body["Time Series (1min)"][label]


def _relabel(body, new_label):
    series = body["Time Series (1min)"]
    series[new_label] = series.pop(LABEL)


# kind: (edit of MSFT's JSON body, blocking check, quarantine reason, delivered field and value)
AV_KINDS = {
    "null_close": (
        lambda b: _av_bar(b).update({"4. close": None}),
        "check_raw_bars_ohlc",
        "close is not a number",
        ("close", None),
    ),
    "nan_close": (
        lambda b: _av_bar(b).update({"4. close": float("nan")}),
        "check_raw_bars_ohlc",
        "close is not a number",
        ("close", "nan"),
    ),
    "infinite_high": (
        lambda b: _av_bar(b).update({"2. high": float("inf")}),
        "check_raw_bars_ohlc",
        "high is infinite",
        ("high", "inf"),
    ),
    "absurd_low": (
        lambda b: _av_bar(b).update({"3. low": "123456789012.5"}),
        "check_raw_bars_ohlc",
        "low is absurd (>= 1e+08)",
        ("low", 123456789012.5),
    ),
    "text_volume": (
        lambda b: _av_bar(b).update({"5. volume": "n/a"}),
        "check_raw_bars_volume",
        "volume is not a number",
        ("volume", "n/a"),
    ),
    "unreadable_label": (
        lambda b: _relabel(b, f"{SESSION} 12:4S:00"),
        "check_raw_bars_timestamps",
        "time unreadable",
        ("timestamp", f"{SESSION} 12:4S:00"),
    ),
}


@pytest.fixture
def alpha_vantage(monkeypatch, test_home):
    monkeypatch.setenv("ALPHAVANTAGE_API_KEY", "QUARANTINE-TEST-KEY")
    with AlphaVantageSimulator() as av:
        yield (
            av,
            _settings(test_home, "alpha_vantage", None, ALPHAVANTAGE_BASE_URL=f"{av.url}/query"),
        )


@pytest.mark.parametrize("kind", list(AV_KINDS))
def test_alpha_vantage_json_rows_are_quarantined_and_block(kind, alpha_vantage, embedded_database):
    av, settings = alpha_vantage
    edit, check, reason, (field, value) = AV_KINDS[kind]
    av.rewrite_bodies(lambda symbol, body: edit(body) if symbol == "MSFT" else None)

    result = materialize(embedded_database, settings, SESSION)

    _assert_blocked(embedded_database, result, check)
    [row] = quarantined(embedded_database)
    assert (row["run_id"], row["session"], row["symbol"]) == (result.run_id, SESSION, "MSFT")
    assert (row["data_source"], row["check_name"], row["reason"]) == (
        "alpha_vantage",
        check,
        reason,
    )
    assert row["delivered"][field] == value


def _yahoo_minute(body, moment=LABEL):
    result = body["chart"]["result"][0]
    epoch = int(pd.Timestamp(moment, tz="America/New_York").timestamp())
    return result, result["timestamp"].index(epoch)


def _yahoo_quote(field, value):
    def edit(body):
        result, at = _yahoo_minute(body)
        result["indicators"]["quote"][0][field][at] = value

    return edit


def _yahoo_shift(seconds):
    def edit(body):
        result, at = _yahoo_minute(body)
        result["timestamp"][at] += seconds

    return edit


YAHOO_KINDS = {
    "infinite_close": (
        _yahoo_quote("close", float("inf")),
        "check_raw_bars_ohlc",
        "close is infinite",
    ),
    "absurd_volume": (
        _yahoo_quote("volume", 10**13),
        "check_raw_bars_volume",
        "volume is absurd (>= 1e+12)",
    ),
    "off_grid_time": (_yahoo_shift(30), "check_raw_bars_timestamps", "time off the 1-minute grid"),
}


@pytest.mark.parametrize("kind", list(YAHOO_KINDS))
def test_yahoo_rows_are_quarantined_and_block(kind, test_home, embedded_database):
    edit, check, reason = YAHOO_KINDS[kind]
    with YahooSimulator() as yahoo:
        yahoo.set_now(AFTER_CLOSE)
        yahoo.rewrite_bodies(lambda symbol, body: edit(body) if symbol == "MSFT" else None)
        settings = _settings(test_home, "yahoo_finance", None, YAHOO_BASE_URL=yahoo.url)
        result = materialize(embedded_database, settings, SESSION, clock=FixedClock(AFTER_CLOSE))

    _assert_blocked(embedded_database, result, check)
    [row] = quarantined(embedded_database)
    assert (row["run_id"], row["session"], row["symbol"]) == (result.run_id, SESSION, "MSFT")
    assert (row["data_source"], row["check_name"]) == ("yahoo_finance", check)
    assert reason in row["reason"]  # yfinance blanks a row's other prices next to an infinite one


def _assert_blocked(url, result, check):
    assert not result.success
    failed = {name: e for name, e in check_evaluations(result).items() if not e.passed}
    assert check in failed and failed[check].severity.value == "ERROR", failed
    assert failure_total(url, CHECK_REASONS[check]) == 1
    assert later_rows(url, SESSION) == {
        "passed_raw_bars": 0,
        "staged_features": 0,
        "dual_ticker_bars": 0,
    }
