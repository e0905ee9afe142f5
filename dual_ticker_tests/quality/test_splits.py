"""Suspected splits between the warm-up history and a run's bars: only overnight moves by a split
ratio count; ordinary gaps and moves within a session are other rules' business."""

import pandas as pd
import pytest

from dual_ticker.quality.splits import suspected_splits, what_to_do


def bars(symbol: str, rows: list[tuple[str, float, float]]) -> pd.DataFrame:
    stamps = pd.to_datetime([text for text, _, _ in rows]).tz_localize("America/New_York")
    return pd.DataFrame(
        {
            "symbol": symbol,
            "timestamp": stamps.tz_convert("UTC"),
            "open": [o for _, o, _ in rows],
            "close": [c for _, _, c in rows],
        }
    )


FRIDAY = [("2024-06-07 15:58", 1205.0, 1207.0), ("2024-06-07 15:59", 1207.0, 1208.9)]


@pytest.mark.parametrize(
    "monday_open,split",
    [(120.4, "10:1"), (302.9, "4:1"), (812.0, "3:2"), (12089.0, "1:10")],
)
def test_an_overnight_move_by_a_split_ratio_is_named(monday_open, split):
    history = bars("NVDA", FRIDAY)
    session = bars("NVDA", [("2024-06-10 09:30", monday_open, monday_open)])
    found = suspected_splits(history, session)
    assert list(found["split"]) == [split] and list(found["symbol"]) == ["NVDA"]


def test_ordinary_gaps_and_moves_within_a_session_are_no_split():
    history = bars("NVDA", FRIDAY)
    session = bars(
        "NVDA",
        [("2024-06-10 09:30", 1450.0, 1450.0), ("2024-06-10 09:31", 1450.0, 725.0)],  # +20 %, /2
    )
    assert suspected_splits(history, session).empty
    assert suspected_splits(history.iloc[0:0], session).empty


def test_what_to_do_depends_on_the_basis():
    found = suspected_splits(
        bars("NVDA", FRIDAY), bars("NVDA", [("2024-06-10 09:30", 120.4, 121.0)])
    )
    adjusted, raw = what_to_do(found, "adjusted"), what_to_do(found, "raw")
    assert "bars before 2024-06-10 were stored on the pre-split scale" in adjusted
    assert "set feeds.price_basis: adjusted" in raw
    assert "\n" not in adjusted + raw
