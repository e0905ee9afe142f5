"""The clock every process of the stack shares: the wall clock, or in replay mode a ReplayClock
anchored in $DUAL_TICKER_HOME/replay_clock.json (written when `make run` starts), so the daemon,
code server and sidecar all see the same recorded "now"."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from dual_ticker.clock import SYSTEM_CLOCK, Clock, ReplayClock, to_utc
from dual_ticker.settings import Settings

ANCHOR_FILE = "replay_clock.json"


def anchor_path(settings: Settings) -> Path:
    return settings.home / ANCHOR_FILE


def start_replay(settings: Settings) -> ReplayClock | None:
    """Anchors the replay at the configured recorded start from now on (replay mode only)."""
    if settings.clock.mode != "replay":
        return None
    clock = ReplayClock(pd.Timestamp(settings.clock.replay_start), speed=settings.clock.speed)
    settings.home.mkdir(parents=True, exist_ok=True)
    anchor = {
        "recorded_start": clock.recorded_start.isoformat(),
        "wall_start": clock.wall_start.isoformat(),
        "speed": clock.speed,
    }
    anchor_path(settings).write_text(json.dumps(anchor))
    return clock


class SharedReplayClock(Clock):
    """Reads the anchor lazily (so importing definitions writes nothing); until `make run` wrote
    one, the replay starts at the configured moment when first asked."""

    def __init__(self, settings: Settings):
        self._settings = settings
        self._clock: ReplayClock | None = None
        self._read_at: float | None = None

    def _current(self) -> ReplayClock:
        path = anchor_path(self._settings)
        modified = path.stat().st_mtime if path.exists() else None
        if self._clock is None or modified != self._read_at:
            if modified is None:
                self._clock = start_replay(self._settings)
                modified = path.stat().st_mtime
            else:
                anchor = json.loads(path.read_text())
                self._clock = ReplayClock(
                    to_utc(anchor["recorded_start"]),
                    to_utc(anchor["wall_start"]),
                    float(anchor["speed"]),
                )
            self._read_at = modified
        return self._clock

    def now(self) -> pd.Timestamp:
        return self._current().now()

    def recorded_time(self, wall: pd.Timestamp) -> pd.Timestamp:
        return self._current().recorded_time(wall)


def clock_from_settings(settings: Settings) -> Clock:
    return SharedReplayClock(settings) if settings.clock.mode == "replay" else SYSTEM_CLOCK
