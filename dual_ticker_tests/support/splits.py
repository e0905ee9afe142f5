"""Recorded sessions moved onto NVDA's 10:1 split of 2024-06-10, with NVDA's prices as traded
(the recording is split-adjusted: before the split they were ten times higher, volumes a tenth),
for the simulators' `add_split` to serve each provider's price basis."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from dual_ticker_tests.support.simulated_provider import REPLAY_DIR

# Thursday and Friday before the split, and the Monday it took effect.
REDATED = {"2020-12-16": "2024-06-06", "2020-12-17": "2024-06-07", "2020-12-18": "2024-06-10"}
SPLIT_DAY, BEFORE = "2024-06-10", "2024-06-07"
RATIO = 10
AFTER_SPLIT = pd.Timestamp("2024-06-11 15:00", tz="UTC")  # the next day: the split is known
BEFORE_SPLIT = pd.Timestamp(f"{BEFORE} 21:00", tz="UTC")  # Friday's close: not yet known
PRICES = ["open", "high", "low", "close"]


def as_traded(symbol: str) -> pd.DataFrame:
    frame = pd.read_csv(REPLAY_DIR / f"{symbol}.csv")
    day = frame["timestamp"].str[:10]
    frame = frame[day.isin(REDATED)].copy()
    frame["timestamp"] = frame["timestamp"].str[:10].map(REDATED) + frame["timestamp"].str[10:]
    if symbol == "NVDA":
        before = frame["timestamp"] < SPLIT_DAY
        frame.loc[before, PRICES] *= RATIO
        frame.loc[before, "volume"] = (frame.loc[before, "volume"] // RATIO).astype("int64")
    return frame


def write_split_replay(folder: Path) -> Path:
    """NVDA.csv and MSFT.csv of the three sessions around the split, as traded, in folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for symbol in ("NVDA", "MSFT"):
        as_traded(symbol).to_csv(folder / f"{symbol}.csv", index=False)
    return folder
