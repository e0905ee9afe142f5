"""How feed clients pace requests: a shared token bucket, a total deadline, backoff with jitter."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


class TokenBucket:
    """A thread-safe token bucket: `per_minute` requests a minute, bursts of at most `burst`.

    Tokens may go negative: a caller reserves its token under the lock and sleeps outside it, so
    concurrent callers queue up fairly instead of spinning. `monotonic` and `sleep` are injectable
    so tests drive the bucket with a fake clock.
    """

    _shared: dict[tuple[str, int], TokenBucket] = {}
    _shared_lock = threading.Lock()

    def __init__(
        self,
        per_minute: int,
        burst: int | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if per_minute < 1:
            raise ValueError(f"rate limit must be at least 1 request a minute, got {per_minute}")
        self.rate = per_minute / 60.0
        # A full minute's quota as one burst would let two minutes' worth through in the first
        # minute; ten seconds' worth keeps any 60 s window close to the provider's limit.
        self.capacity = float(burst if burst is not None else max(1, per_minute // 6))
        self._monotonic = monotonic
        self._sleep = sleep
        self._tokens = self.capacity
        self._updated = monotonic()
        self._lock = threading.Lock()

    @classmethod
    def shared(cls, name: str, per_minute: int) -> TokenBucket:
        """The process-wide bucket of one provider's quota (all clients of it draw from it)."""
        with cls._shared_lock:
            bucket = cls._shared.get((name, per_minute))
            if bucket is None:
                bucket = cls._shared[(name, per_minute)] = cls(per_minute)
            return bucket

    def _refill(self, now: float) -> None:
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def acquire(self, timeout: float | None = None) -> bool:
        """Takes one token, waiting for it; False (nothing taken) if that would exceed `timeout`."""
        with self._lock:
            self._refill(self._monotonic())
            wait = 0.0 if self._tokens >= 1 else (1 - self._tokens) / self.rate
            if timeout is not None and wait > timeout:
                return False
            self._tokens -= 1
        if wait > 0:
            self._sleep(wait)
        return True


@dataclass
class Deadline:
    """Time left for one fetch, all its requests and retries included (a duration, not "now")."""

    seconds: float
    monotonic: Callable[[], float] = time.monotonic
    started: float = field(init=False)

    def __post_init__(self) -> None:
        self.started = self.monotonic()

    def remaining(self) -> float:
        return max(0.0, self.seconds - (self.monotonic() - self.started))

    def expired(self) -> bool:
        return self.remaining() <= 0


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded attempts with exponential backoff and full jitter, never past the deadline.

    `attempts` counts every try of a request, the first included (1 = no retry).
    """

    attempts: int = 3
    delay: float = 1.0
    max_delay: float = 8.0
    random: Callable[[], float] = random.random

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed try number `attempt` (1-based)."""
        ceiling = min(self.max_delay, self.delay * 2 ** (attempt - 1))
        return ceiling * (0.5 + 0.5 * self.random())
