"""A run's sessions in bounded chunks, in session order: each chunk is fetched, gated, featured or
published and committed on its own, a chunk or two ahead of the caller at most, so memory stays
flat however long the range, and a failure partway leaves every committed chunk complete."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import TypeVar

from dual_ticker.quality.rules import Window

Prepared = TypeVar("Prepared")


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


def in_chunks_ahead(
    windows: dict[str, Window],
    size: int,
    step: str,
    prepare: Callable[[dict[str, Window]], Prepared],
    report: Callable[[Progress], None] = lambda progress: None,
    ahead: int = 1,
) -> Iterator[tuple[dict[str, Window], Prepared]]:
    """in_chunks, each chunk with `prepare(chunk)`: the next `ahead` chunks' are made in background
    threads while the caller works on the current one, so waits on the database or a feed overlap
    other work. At most `ahead` + 1 chunks are held; a failure of `prepare` is raised when its
    chunk's turn comes, after the chunks before it are done, and the chunks not started are
    dropped."""
    keys = sorted(windows)
    upcoming = [
        {key: windows[key] for key in keys[i : i + size]} for i in range(0, len(keys), size)
    ]
    if len(upcoming) <= 1:  # a minute run: nothing to overlap
        for chunk in in_chunks(windows, size, step, report):
            yield chunk, prepare(chunk)
        return
    with ThreadPoolExecutor(max_workers=ahead, thread_name_prefix=f"{step}-ahead") as pool:
        pending = deque(pool.submit(prepare, chunk) for chunk in upcoming[:ahead])
        try:
            for number, chunk in enumerate(in_chunks(windows, size, step, report)):
                prepared = pending.popleft().result()
                if number + ahead < len(upcoming):
                    pending.append(pool.submit(prepare, upcoming[number + ahead]))
                yield chunk, prepared
        finally:
            for future in pending:
                future.cancel()


@contextmanager
def written_behind():
    """submit(write, *args, then=None): runs `write` in a background thread once the previous one
    is done (its failure raised here), so a chunk's writes overlap the next chunk's work; `then`
    runs in the caller's thread once its write has committed (at the next submit, or on leaving).
    On leaving, the last write is waited for: every submitted write has committed or raised, and
    a write that committed has had its `then`, even when the caller's work failed."""
    pending: list = []

    def settle() -> None:
        write, then = pending.pop()
        write.result()
        if then is not None:
            then()

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="written-behind") as pool:

        def submit(write: Callable[..., object], *args, then: Callable[[], object] | None = None):
            if pending:
                settle()
            pending.append((pool.submit(write, *args), then))

        try:
            yield submit
        except BaseException:
            if pending:
                with suppress(Exception):  # the caller's failure is the one raised
                    settle()
            raise
        if pending:
            settle()
