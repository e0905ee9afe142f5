"""The trading model's observation at decision time t: 13 features per symbol + 2 positions = 28.

Live form: `build_observation` (positions from `current_positions`). Batch form for training:
`build_observations` (vectorised; positions from the caller), which reports skipped minutes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dual_ticker.clock import to_utc
from dual_ticker.features.indicators import FEATURE_COLUMNS
from dual_ticker.storage import contract_bars

SYMBOLS = ("NVDA", "MSFT")
OBSERVATION_KEYS = ("nvda_features", "msft_features", "positions")
OBSERVATION_SIZE = 2 * len(FEATURE_COLUMNS) + 2


class ObservationError(ValueError):
    """No valid observation exists for that time; the message says which input is missing."""


@dataclass(frozen=True)
class Observation:
    at: pd.Timestamp
    nvda_features: tuple[float, ...]
    msft_features: tuple[float, ...]
    positions: tuple[float, float]

    def as_dict(self) -> dict[str, list[float]]:
        return {key: list(getattr(self, key)) for key in OBSERVATION_KEYS}

    def vector(self) -> np.ndarray:
        return np.array(
            [*self.nvda_features, *self.msft_features, *self.positions], dtype="float64"
        )


@dataclass(frozen=True)
class ObservationBatch:
    times: pd.DatetimeIndex  # decision times with a valid observation
    values: np.ndarray  # shape (len(times), 28)
    skipped: pd.DataFrame  # columns: time, reason


def _latest_bars(connection, at: pd.Timestamp, bar_minutes: int) -> dict[str, tuple]:
    """Per symbol, the latest complete bar at `at` (start + bar size <= at)."""
    return contract_bars.latest(connection, SYMBOLS, at - pd.Timedelta(minutes=bar_minutes))


def _positions(connection) -> tuple[float, float]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT symbol, qty FROM current_positions WHERE symbol = ANY(%s)", (list(SYMBOLS),)
        )
        quantities = {symbol: float(qty) for symbol, qty in cursor.fetchall()}
    return tuple(quantities.get(symbol, 0.0) for symbol in SYMBOLS)


def build_observation(connection, at, bar_minutes: int, staleness_minutes: int) -> Observation:
    """The live observation at `at`, positions from `current_positions`; never NaN."""
    at = to_utc(at)
    bars = _latest_bars(connection, at, bar_minutes)
    features = {}
    for symbol in SYMBOLS:
        if symbol not in bars:
            raise ObservationError(
                f"{symbol}: no complete bar before {at}; materialize dual_ticker_bars first"
            )
        start, *values = bars[symbol]
        age = at - (pd.Timestamp(start) + pd.Timedelta(minutes=bar_minutes))
        if age > pd.Timedelta(minutes=staleness_minutes):
            raise ObservationError(
                f"{symbol}: latest bar ended {age} before {at} (staleness limit {staleness_minutes} min); "
                "the data is stale: check the feeds and the minute schedule"
            )
        undefined = [
            name
            for name, value in zip(FEATURE_COLUMNS, values, strict=True)
            if value is None or np.isnan(float(value))
        ]
        if undefined:
            raise ObservationError(
                f"{symbol}: {', '.join(undefined)} undefined at bar {start} (indicator warm-up: "
                "RSI needs 14 earlier bars, EMA-26 25); backfill earlier sessions"
            )
        features[symbol] = tuple(float(value) for value in values)
    return Observation(at, features["NVDA"], features["MSFT"], _positions(connection))


def build_observations(
    connection,
    start,
    end,
    bar_minutes: int,
    staleness_minutes: int,
    positions: np.ndarray | None = None,
) -> ObservationBatch:
    """Observations at every bar end in [start, end] (vectorised), for training.

    `positions`: shape (2,) for all times or (n_times, 2) aligned with the candidate decision
    times (every bar end of either symbol in the range); default flat (0, 0).
    """
    start, end = to_utc(start), to_utc(end)
    step = pd.Timedelta(minutes=bar_minutes)
    staleness = pd.Timedelta(minutes=staleness_minutes)
    rows = contract_bars.features_in(connection, SYMBOLS, start - step - staleness, end)
    times = pd.DatetimeIndex(sorted(set(rows["timestamp"] + step))).tz_convert("UTC")
    times = times[(times >= start) & (times <= end)]
    decisions = pd.DataFrame({"time": times})
    blocks, missing = [], pd.Series(False, index=decisions.index)
    reasons = pd.Series("", index=decisions.index)
    for symbol in SYMBOLS:
        own = rows[rows["symbol"] == symbol].assign(bar_end=lambda f: f["timestamp"] + step)
        joined = pd.merge_asof(
            decisions,
            own,
            left_on="time",
            right_on="bar_end",
            direction="backward",
            tolerance=staleness,
        )
        values = joined[FEATURE_COLUMNS].to_numpy()
        stale = joined["bar_end"].isna().to_numpy()
        undefined = np.isnan(values).any(axis=1) & ~stale
        reasons[stale & ~missing.to_numpy()] = f"{symbol} stale or absent"
        reasons[undefined & ~missing.to_numpy() & ~stale] = (
            f"{symbol} indicators undefined (warm-up)"
        )
        missing |= stale | undefined
        blocks.append(values)
    held = np.broadcast_to(
        np.zeros(2) if positions is None else np.asarray(positions, dtype="float64"),
        (len(decisions), 2),
    )
    matrix = np.hstack([*blocks, held])
    keep = ~missing.to_numpy()
    skipped = pd.DataFrame(
        {"time": decisions["time"][~keep].to_numpy(), "reason": reasons[~keep].to_numpy()}
    )
    return ObservationBatch(pd.DatetimeIndex(decisions["time"][keep]), matrix[keep], skipped)
