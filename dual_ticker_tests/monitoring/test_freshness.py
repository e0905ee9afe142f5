"""Freshness against the NYSE calendar: minutes old in session, the last session complete after."""

import pandas as pd
import pytest

from dual_ticker.monitoring.freshness import (
    judge,
    last_complete_session,
    market_open,
    required_bar_end,
)


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="America/New_York").tz_convert("UTC")


@pytest.mark.parametrize(
    ("now", "is_open"),
    [
        ("2020-12-01 09:29", False),
        ("2020-12-01 09:30", True),
        ("2020-12-01 15:59", True),
        ("2020-12-01 16:00", False),
        ("2020-12-05 12:00", False),  # Saturday
        ("2020-11-26 12:00", False),  # Thanksgiving
        ("2020-11-27 12:59", True),
        ("2020-11-27 13:00", False),  # early close
    ],
)
def test_market_open_follows_the_calendar(now, is_open):
    assert market_open(utc(now)) is is_open


def test_in_session_the_latest_bar_must_end_within_three_bars_of_now():
    now = utc("2020-12-01 11:00:30")
    assert judge("NVDA", utc("2020-12-01 10:58"), now, 1).fresh  # ended 10:59, 90 s ago
    stale = judge("NVDA", utc("2020-12-01 10:55"), now, 1)
    assert not stale.fresh and stale.age_seconds == 270.0  # ended 10:56
    assert required_bar_end(now, 5) == utc("2020-12-01 10:45:30")  # five-minute bars: three of them


def test_in_the_first_minutes_of_a_session_the_previous_one_must_be_complete():
    now = utc("2020-12-02 09:31:30")
    assert required_bar_end(now, 1) == utc("2020-12-01 16:00")
    assert judge("MSFT", utc("2020-12-01 15:59"), now, 1).fresh
    assert not judge("MSFT", utc("2020-12-01 15:40"), now, 1).fresh


def test_outside_market_hours_fresh_means_the_last_session_is_complete():
    saturday = utc("2020-12-05 12:00")
    assert last_complete_session(saturday) == pd.Timestamp("2020-12-04")
    assert judge("NVDA", utc("2020-12-04 15:59"), saturday, 1).fresh
    assert not judge("NVDA", utc("2020-12-04 15:58"), saturday, 1).fresh
    before_open = utc("2020-12-07 08:00")  # Monday before the open: Friday's session counts
    assert judge("NVDA", utc("2020-12-04 15:55"), before_open, 5).fresh
    after_early_close = utc("2020-11-27 14:00")
    assert required_bar_end(after_early_close, 1) == utc("2020-11-27 13:00")


def test_capped_sessions_end_early_and_no_bars_is_never_fresh():
    assert required_bar_end(utc("2020-12-01 17:00"), 5, max_bars=6) == utc("2020-12-01 10:00")
    empty = judge("NVDA", None, utc("2020-12-01 17:00"), 1)
    assert not empty.fresh and empty.age_seconds is None


def test_a_delayed_feed_is_fresh_when_its_bars_are_as_late_as_its_entitlement():
    now = utc("2020-12-01 11:00:30")
    latest = utc("2020-12-01 10:43")  # ended 10:44: a delayed key's newest bar at 11:00
    assert not judge("NVDA", latest, now, 1).fresh
    assert judge("NVDA", latest, now, 1, delay_minutes=15).fresh
    assert not judge("NVDA", utc("2020-12-01 10:38"), now, 1, delay_minutes=15).fresh
