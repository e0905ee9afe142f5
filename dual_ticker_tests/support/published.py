"""Rows of dual_ticker_bars for observation tests, staged and published with the real storage code."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dual_ticker.calendar.windows import run_windows
from dual_ticker.features.indicators import FEATURE_COLUMNS
from dual_ticker.storage import contract_bars
from dual_ticker.storage.database import transaction

SESSION = "2020-12-01"
WINDOWS = run_windows([SESSION], pd.Timestamp("2020-12-02", tz="UTC"), None, 1, None)
OPENED = WINDOWS[SESSION].opened


def close_at(number: int, minute: int) -> float:
    """The close (and every other feature) of symbol `number`'s bar `minute` minutes after the open."""
    return 100.0 * (number + 1) + minute / 100


def publish(url: str, minutes: dict[str, int], undefined: dict[str, int] | None = None) -> None:
    """Publishes `minutes[symbol]` one-minute bars from the open, in the order of `minutes`,
    every feature defined except RSI on the first `undefined[symbol]` bars (indicator warm-up)."""
    frames = []
    for number, (symbol, count) in enumerate(minutes.items()):
        stamps = pd.date_range(OPENED, periods=count, freq="1min")
        frame = pd.DataFrame({"session": SESSION, "timestamp": stamps, "symbol": symbol})
        for column in FEATURE_COLUMNS:
            frame[column] = close_at(number, np.arange(count))
        frame["volume"] = 1_000
        frame.loc[: (undefined or {}).get(symbol, 0) - 1, "rsi"] = np.nan
        frame["data_source"] = "replay"
        frames.append(frame)
    with transaction(url) as connection:
        contract_bars.stage(connection, pd.concat(frames, ignore_index=True), [SESSION], "run")
        contract_bars.publish(connection, WINDOWS, list(minutes))
