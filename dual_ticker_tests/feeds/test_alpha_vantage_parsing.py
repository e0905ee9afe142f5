"""Alpha Vantage parsing of the provider's real responses: both timestamp conventions, errors."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dual_ticker.calendar.nyse import NEW_YORK, session_close, session_open, sessions_between
from dual_ticker.feeds.alpha_vantage_parsing import (
    decode_json,
    error_in_body,
    parse_extended_csv,
    parse_intraday_json,
)
from dual_ticker.feeds.base import (
    BAR_COLUMNS,
    FeedEmpty,
    FeedThrottled,
    FeedUnavailable,
    FeedUnparseable,
)
from dual_ticker_tests.feeds.conftest import FIXTURES
from dual_ticker_tests.support.alpha_vantage_server import (
    ERROR_MESSAGE,
    NOTE,
    PREMIUM_INFORMATION,
    RATE_INFORMATION,
)

COMPACT = FIXTURES / "alpha_vantage" / "msft_1min_compact_2017-12-18.json"
EXTENDED = FIXTURES / "alpha_vantage" / "msft_1min_extended_2020-11-23_2020-12-18.csv"


@pytest.fixture(scope="module")
def compact() -> dict:
    return json.loads(COMPACT.read_text())


@pytest.fixture(scope="module")
def extended() -> pd.DataFrame:
    return parse_extended_csv(EXTENDED.read_text(), "msft")


def test_compact_json_labels_are_bar_starts_in_us_eastern(compact):
    bars = parse_intraday_json(compact, "MSFT")
    assert list(bars.columns) == BAR_COLUMNS
    assert len(bars) == 100
    assert bars["timestamp"].is_monotonic_increasing  # the provider sends newest first
    # 13:17 and 14:56 EST (UTC-5) on 2017-12-18 are the first and last labels, kept as starts.
    assert bars["timestamp"].iloc[0] == pd.Timestamp("2017-12-18 18:17", tz="UTC")
    assert bars["timestamp"].iloc[-1] == pd.Timestamp("2017-12-18 19:56", tz="UTC")
    newest = compact["Time Series (1min)"]["2017-12-18 14:56:00"]
    last = bars.iloc[-1]
    assert (last.open, last.high, last.low, last.close) == (86.49, 86.5, 86.475, 86.5)
    assert last.volume == int(newest["5. volume"]) == 10494
    assert bars.dtypes["volume"] == "int64" and bars.dtypes["close"] == "float64"
    assert set(bars["data_source"]) == {"alpha_vantage"} and set(bars["symbol"]) == {"MSFT"}


def test_compact_json_time_zone_comes_from_meta_data(compact):
    in_utc = json.loads(json.dumps(compact))
    in_utc["Meta Data"]["6. Time Zone"] = "UTC"
    bars = parse_intraday_json(in_utc, "MSFT")
    assert bars["timestamp"].iloc[-1] == pd.Timestamp("2017-12-18 14:56", tz="UTC")


def test_extended_csv_labels_are_bar_ends_shifted_to_starts(extended):
    local = extended["timestamp"].dt.tz_convert(NEW_YORK)
    assert len(extended) == 11_190
    assert extended["timestamp"].is_monotonic_increasing
    # The 04:01 label is the bar 04:00-04:01; the opening cross volume sits in the 09:30 start.
    assert local.iloc[0] == pd.Timestamp("2020-11-23 04:00", tz=NEW_YORK)
    sessions = sessions_between("2020-11-23", "2020-12-18")
    assert len(sessions) == 19
    for day in sessions:
        opened, closed = session_open(day), session_close(day)
        regular = extended[(extended["timestamp"] >= opened) & (extended["timestamp"] < closed)]
        expected = 210 if day == pd.Timestamp("2020-11-27") else 390
        assert len(regular) == expected, day
        assert regular["timestamp"].iloc[0] == opened
        assert regular["timestamp"].iloc[-1] == closed - pd.Timedelta(minutes=1)


def test_extended_csv_opening_bar_carries_the_opening_volume(extended):
    by_start = extended.set_index("timestamp")
    opening = by_start.loc[pd.Timestamp("2020-11-23 09:30", tz=NEW_YORK)]
    before = by_start.loc[pd.Timestamp("2020-11-23 09:29", tz=NEW_YORK)]
    assert opening.volume > 50 * before.volume


@pytest.mark.parametrize(
    "body, error",
    [
        (NOTE, FeedThrottled),
        (RATE_INFORMATION, FeedThrottled),
        ({"Information": "Our API call volume cap is 75 per minute now."}, FeedThrottled),
        (PREMIUM_INFORMATION, FeedUnavailable),
        ({"Information": "The demo API key is for demo purposes only."}, FeedUnavailable),
        (ERROR_MESSAGE, FeedUnavailable),
        ({"Meta Data": {"2. Symbol": "MSFT"}}, FeedUnparseable),
        ({"Meta Data": {}, "Time Series (1min)": {}}, FeedEmpty),
        ({"Time Series (1min)": []}, FeedUnparseable),
        (
            {"Time Series (1min)": {"2020-12-18 09:30:00": {"1. open": "1", "2. high": "2"}}},
            FeedUnparseable,
        ),
        ([1, 2, 3], FeedUnparseable),
        ({"Meta Data": {}, "Time Series\r\n(1min)": {}}, FeedUnparseable),
        ({"Meta Data": {}, "Error\r\nMessage": "x", "\n": {}}, FeedUnparseable),
    ],
)
def test_bodies_that_are_not_data_become_typed_errors(body, error):
    with pytest.raises(error) as raised:
        parse_intraday_json(body, "MSFT")
    assert type(raised.value) is error
    assert "\n" not in str(raised.value) and "\r" not in str(raised.value)


def test_an_answer_about_another_symbol_or_interval_is_not_data(compact):
    with pytest.raises(FeedUnparseable, match="about 'MSFT', not AAPL"):
        parse_intraday_json(compact, "AAPL")
    with pytest.raises(FeedUnparseable, match="asked for 5min bars"):
        parse_intraday_json(compact, "MSFT", "5min")
    daily = {"Meta Data": compact["Meta Data"], "Time Series (Daily)": {}}
    with pytest.raises(FeedUnparseable, match="'Time Series \\(Daily\\)'"):
        parse_intraday_json(daily, "MSFT")


def test_a_csv_row_without_a_time_is_kept_for_the_gate_to_quarantine():
    text = "time,open,high,low,close,volume\nNone,1,2,1,1,9\n2020-12-18 10:00:00,1,2,1,1,9\n"
    bars = parse_extended_csv(text, "MSFT")
    assert len(bars) == 2 and bars["timestamp"].isna().sum() == 1


def test_a_bar_holding_no_number_or_no_readable_time_is_kept_as_delivered():
    good = {"1. open": "1", "2. high": "2", "3. low": "1", "4. close": "1.5", "5. volume": "9"}
    body = {
        "Time Series (1min)": {
            "2020-12-18 09:31:00": good,
            "2020-12-18 09:30:00": good | {"1. open": "n/a"},
            "yesterday": good,
        }
    }
    bars = parse_intraday_json(body, "MSFT")
    assert len(bars) == 3 and bars["delivered"].notna().tolist() == [True, False, True]
    unreadable = json.loads(bars["delivered"].iloc[2])  # no time: ordered last
    assert unreadable["timestamp"] == "yesterday" and pd.isna(bars["timestamp"].iloc[2])
    assert json.loads(bars["delivered"].iloc[0])["open"] == "n/a"
    assert bars["open"].isna().tolist() == [True, False, False]


def test_the_extended_csv_keeps_empty_and_text_values_as_delivered():
    text = (
        "time,open,high,low,close,volume\n"
        "2020-12-18 09:32:00,1,2,1,1.5,9\n"
        "2020-12-18 09:31:00,1,2,1,,9\n"
        "2020-12-18 09:30:00,1,2,1,1.5,lots\n"
    )
    bars = parse_extended_csv(text, "MSFT")
    assert len(bars) == 3
    kept = [json.loads(t) for t in bars["delivered"].dropna()]
    assert [(row["close"], row["volume"]) for row in kept] == [("1.5", "lots"), ("", "9")]


def test_any_notice_key_is_a_failure_whatever_it_says():
    for key in ("Note", "Information", "Error Message"):
        assert (
            error_in_body({key: "wording never seen before", "Time Series (1min)": {}}) is not None
        )


def test_malformed_json_is_unparseable():
    with pytest.raises(FeedUnparseable):
        decode_json(b'{"Meta Data": {"1. Information": "Intraday (1min')


def test_an_error_body_on_the_csv_endpoint_is_a_typed_error():
    with pytest.raises(FeedThrottled):
        parse_extended_csv(json.dumps(NOTE), "MSFT")
    with pytest.raises(FeedEmpty):
        parse_extended_csv("time,open,high,low,close,volume\n", "MSFT")


bar_values = st.tuples(
    st.floats(1, 5000, allow_nan=False).map(lambda v: round(v, 4)),
    st.integers(0, 10**9),
)


@given(st.dictionaries(st.integers(0, 389), bar_values, min_size=1, max_size=40))
def test_json_round_trip_is_ordered_and_exact(bars):
    opened = pd.Timestamp("2020-12-18 09:30", tz=NEW_YORK)
    series = {
        (opened + pd.Timedelta(minutes=m)).strftime("%Y-%m-%d %H:%M:%S"): {
            "1. open": f"{p:.4f}",
            "2. high": f"{p:.4f}",
            "3. low": f"{p:.4f}",
            "4. close": f"{p:.4f}",
            "5. volume": str(v),
        }
        for m, (p, v) in sorted(bars.items(), reverse=True)
    }
    parsed = parse_intraday_json(
        {"Meta Data": {"6. Time Zone": "US/Eastern"}, "Time Series (1min)": series}, "X"
    )
    minutes = sorted(bars)
    assert list(parsed["timestamp"]) == [
        opened.tz_convert("UTC") + pd.Timedelta(minutes=m) for m in minutes
    ]
    assert list(parsed["close"]) == [bars[m][0] for m in minutes]
    assert list(parsed["volume"]) == [bars[m][1] for m in minutes]
