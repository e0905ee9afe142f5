"""A run's data path on a made-up session, in memory and writing nothing: what a warm run worker
goes through once before its first real run, so that run does not pay for the first calls into
pandas, the gate's rules and TA-Lib (the cold steps cost about 0.25 s more than warm ones)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dual_ticker.calendar.nyse import session_open
from dual_ticker.calendar.windows import run_windows
from dual_ticker.features.indicators import compute_features
from dual_ticker.quality.bar_series import aggregate
from dual_ticker.quality.gate import features_report, gated_bars, raw_bars_report
from dual_ticker.quality.rules import delivery_conflicts
from dual_ticker.settings import Settings

SESSION = "2020-12-18"  # any NYSE session: nothing is read or stored for it
MINUTES = 60


def made_up_delivery(symbols, opened: pd.Timestamp, source: str) -> pd.DataFrame:
    """A plausible minute series per symbol from the open: a seeded random walk."""
    random = np.random.default_rng(7)
    stamps = pd.date_range(opened, periods=MINUTES, freq="1min")
    frames = []
    for number, symbol in enumerate(symbols):
        close = 100.0 * (number + 1) * np.exp(np.cumsum(random.normal(0, 0.001, MINUTES)))
        open_ = np.r_[close[0], close[:-1]]
        frames.append(
            pd.DataFrame(
                {
                    "symbol": symbol,
                    "timestamp": stamps,
                    "open": open_,
                    "high": np.maximum(open_, close) * 1.0005,
                    "low": np.minimum(open_, close) * 0.9995,
                    "close": close,
                    "volume": random.integers(10_000, 50_000, MINUTES),
                    "data_source": source,
                    "session": SESSION,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def rehearse(settings: Settings, source_order: list[str]) -> int:
    """Gate, validated bars, features and their gate over a made-up live minute run; returns
    the featured rows (2 symbols x 60 minutes) so a caller can tell it ran."""
    opened = session_open(pd.Timestamp(SESSION))
    tick = opened + pd.Timedelta(minutes=MINUTES)
    windows = run_windows(
        [SESSION],
        tick,
        tick.isoformat(),
        settings.data.bar_size,
        settings.data.max_bars_per_test,
    )
    delivery = made_up_delivery(settings.data.symbols, opened, source_order[0])
    clean, clashes = delivery_conflicts(delivery)
    rows = clean.assign(conflict=False, gate_status="pending", gate_reason=None)
    raw_bars_report(rows, clashes, windows, settings, source_order, live=True).verdicts()
    bars = gated_bars(rows, windows, source_order)
    as_of = bars["session"].map({key: window.as_of for key, window in windows.items()})
    validated = aggregate(
        bars.drop(columns=["conflict", "gate_status", "gate_reason"]), settings.data.bar_size, as_of
    )
    featured = compute_features(validated.iloc[0:0], validated)
    features_report(featured, [SESSION], settings)
    return len(featured)
