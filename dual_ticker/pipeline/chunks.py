"""A run's sessions in bounded chunks, in session order: each chunk is fetched, gated, featured or
published and committed before the next, so memory stays flat however long the range, and a
failure partway leaves every committed chunk complete."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from dual_ticker.quality.rules import Window


@dataclass(frozen=True)
class Progress:
    step: str
    chunk: int
    chunks: int
    sessions_done: int
    sessions: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.sessions_done / self.seconds if self.seconds > 0 else 0.0

    @property
    def eta_seconds(self) -> float:
        return (self.sessions - self.sessions_done) / self.rate if self.rate else 0.0

    def line(self) -> str:
        return (
            f"{self.step}: chunk {self.chunk}/{self.chunks}, {self.sessions_done}/{self.sessions} "
            f"sessions, {self.rate:.1f} sessions/s, ETA {self.eta_seconds:.0f} s"
        )


def in_chunks(
    windows: dict[str, Window],
    size: int,
    step: str,
    report: Callable[[Progress], None] = lambda progress: None,
) -> Iterator[dict[str, Window]]:
    """The windows in session order, `size` sessions at a time; after each chunk the caller's
    work is done, `report` hears the progress."""
    keys = sorted(windows)
    chunks = max(1, -(-len(keys) // size))
    began = time.monotonic()
    for number, first in enumerate(range(0, len(keys), size), start=1):
        chunk = {key: windows[key] for key in keys[first : first + size]}
        yield chunk
        done = min(first + size, len(keys))
        report(Progress(step, number, chunks, done, len(keys), time.monotonic() - began))
