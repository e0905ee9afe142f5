"""The one place that reads "now": live runs use the system clock, tests and replay drive time."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pandas as pd


class Clock:
    """Supplies the current time as a UTC pandas Timestamp."""

    def now(self) -> pd.Timestamp:
        return pd.Timestamp(datetime.now(UTC))

    def recorded_time(self, wall: pd.Timestamp) -> pd.Timestamp:
        """The moment this clock shows when the wall clock shows `wall` (identity but in replay)."""
        return to_utc(wall)


@dataclass
class FixedClock(Clock):
    """A clock that stays where it is put; `advance` moves it."""

    at: pd.Timestamp

    def __post_init__(self) -> None:
        self.at = to_utc(self.at)

    def now(self) -> pd.Timestamp:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at = self.at + pd.Timedelta(**delta)


@dataclass
class ReplayClock(Clock):
    """Maps wall time onto a recorded session: now() = recorded_start + (wall - wall_start)."""

    recorded_start: pd.Timestamp
    wall_start: pd.Timestamp = field(default_factory=lambda: Clock().now())
    speed: float = 1.0

    def __post_init__(self) -> None:
        self.recorded_start = to_utc(self.recorded_start)
        self.wall_start = to_utc(self.wall_start)

    def now(self) -> pd.Timestamp:
        elapsed = (Clock().now() - self.wall_start) * self.speed
        return self.recorded_start + elapsed

    def recorded_time(self, wall: pd.Timestamp) -> pd.Timestamp:
        return self.recorded_start + (to_utc(wall) - self.wall_start) * self.speed


def to_utc(moment: pd.Timestamp | datetime | str) -> pd.Timestamp:
    stamp = pd.Timestamp(moment)
    if stamp.tzinfo is None:
        raise ValueError(f"timestamp {stamp} has no time zone; give one (e.g. '+00:00')")
    return stamp.tz_convert("UTC")


SYSTEM_CLOCK = Clock()
