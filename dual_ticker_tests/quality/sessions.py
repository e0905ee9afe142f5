"""Valid sessions and corruptions of them, for the gate's tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dual_ticker.calendar.nyse import expected_bar_starts, session_label
from dual_ticker.calendar.windows import session_window
from dual_ticker.quality.gate import raw_bars_report
from dual_ticker.quality.rules import Outcome
from dual_ticker.settings import Settings, load_settings


def raw_bars_outcomes(
    session_rows: pd.DataFrame,
    clashes: pd.DataFrame,
    session: pd.Timestamp,
    as_of: pd.Timestamp,
    settings: Settings,
    source_order: list[str],
    live: bool = False,
) -> list[Outcome]:
    """The gate's raw_bars report for one session's rows plus a delivery's clashes."""
    window = session_window(session, as_of)
    return raw_bars_report(
        session_rows.assign(session=window.key),
        clashes.assign(session=window.key),
        {window.key: window},
        settings,
        source_order,
        live,
    ).by_session[window.key]


def gate_settings(env: str = "ci", symbols=("NVDA", "MSFT")) -> Settings:
    settings = load_settings({"DUAL_TICKER_ENV": env})
    return settings.model_copy(
        update={"data": settings.data.model_copy(update={"symbols": tuple(symbols)})}
    )


def valid_session(
    day: str, seed: int, symbols=("NVDA", "MSFT"), source: str = "replay"
) -> pd.DataFrame:
    """Every regular minute of the session for each symbol: a gentle random walk, OHLC consistent."""
    rng = np.random.default_rng(seed)
    starts = expected_bar_starts(session_label(day), 1)
    frames = []
    for offset, symbol in enumerate(symbols):
        n = len(starts)
        close = np.round((100 + 50 * offset) * np.exp(np.cumsum(rng.normal(0, 0.0008, n))), 4)
        open_ = np.round(np.concatenate([[close[0]], close[:-1]]), 4)
        frames.append(
            pd.DataFrame(
                {
                    "symbol": symbol,
                    "timestamp": starts,
                    "open": open_,
                    "high": np.round(np.maximum(open_, close) * (1 + rng.uniform(0, 0.0005, n)), 4),
                    "low": np.round(np.minimum(open_, close) * (1 - rng.uniform(0, 0.0005, n)), 4),
                    "close": close,
                    "volume": rng.integers(1_000, 50_000, n).astype("int64"),
                    "data_source": source,
                    "conflict": False,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def recorded_session(
    csv_path, day: str, symbol: str, source: str = "alpha_vantage"
) -> pd.DataFrame:
    frame = pd.read_csv(csv_path)
    frame["timestamp"] = (
        pd.to_datetime(frame["timestamp"]).dt.tz_localize("America/New_York").dt.tz_convert("UTC")
    )
    own = frame[frame["timestamp"].dt.tz_convert("America/New_York").dt.strftime("%Y-%m-%d") == day]
    return own.assign(symbol=symbol, data_source=source, conflict=False).reset_index(drop=True)
