"""A seeded year of one-minute NVDA and MSFT bars (every regular minute of every 2019 session)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from dual_ticker.calendar.nyse import expected_bar_starts, sessions_between

YEAR = ("2019-01-02", "2019-12-31")


def year_bars(
    seed: int = 2019, first: str = YEAR[0], last: str = YEAR[1]
) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    starts = pd.DatetimeIndex(
        np.concatenate(
            [
                expected_bar_starts(day, 1).tz_convert(None).to_numpy()
                for day in sessions_between(first, last)
            ]
        ),
        tz="UTC",
    )
    frames = {}
    for symbol, price in (("NVDA", 35.0), ("MSFT", 100.0)):
        n = len(starts)
        close = np.round(price * np.exp(np.cumsum(rng.normal(0, 0.0007, n))), 4)
        open_ = np.round(np.concatenate([[close[0]], close[:-1]]), 4)
        frames[symbol] = pd.DataFrame(
            {
                "timestamp": starts.tz_convert("America/New_York").strftime("%Y-%m-%d %H:%M:%S"),
                "open": open_,
                "high": np.round(np.maximum(open_, close) * (1 + rng.uniform(0, 4e-4, n)), 4),
                "low": np.round(np.minimum(open_, close) * (1 - rng.uniform(0, 4e-4, n)), 4),
                "close": close,
                "volume": rng.integers(500, 60_000, n),
            }
        )
    return frames


def write_year(folder: Path, **kwargs) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    rows = 0
    for symbol, frame in year_bars(**kwargs).items():
        frame.to_csv(folder / f"{symbol}.csv", index=False)
        rows += len(frame)
    return rows
