"""Request pacing (token bucket, deadline, backoff) and how windows split into requests."""

from __future__ import annotations

import threading

import pandas as pd
import pytest

from dual_ticker.feeds.base import FeedStale
from dual_ticker.feeds.pacing import Deadline, RetryPolicy, TokenBucket
from dual_ticker.feeds.windows import chunks, ensure_fresh, months_between
from dual_ticker_tests.feeds.conftest import utc


class FakeTime:
    """A monotonic clock that only moves when something sleeps on it."""

    def __init__(self):
        self.now = 100.0
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)


def test_bucket_allows_a_burst_then_paces_at_the_rate():
    fake = FakeTime()
    bucket = TokenBucket(per_minute=75, burst=3, monotonic=fake.monotonic, sleep=fake.sleep)
    for _ in range(5):
        assert bucket.acquire()
    # Three from the burst, then each caller waits its turn: 0.8 s, then 1.6 s (queued behind).
    assert fake.slept == pytest.approx([0.8, 1.6])


def test_bucket_refills_with_time_and_never_beyond_the_burst():
    fake = FakeTime()
    bucket = TokenBucket(per_minute=60, burst=2, monotonic=fake.monotonic, sleep=fake.sleep)
    assert bucket.acquire() and bucket.acquire()
    fake.now += 3600  # an hour idle refills only up to the burst
    for _ in range(3):
        bucket.acquire()
    assert fake.slept == pytest.approx([1.0])


def test_bucket_refuses_rather_than_wait_past_a_timeout():
    fake = FakeTime()
    bucket = TokenBucket(per_minute=6, burst=1, monotonic=fake.monotonic, sleep=fake.sleep)
    assert bucket.acquire(timeout=0)
    assert not bucket.acquire(timeout=5.0)  # the next token is 10 s away
    assert bucket.acquire(timeout=10.0)
    assert fake.slept == pytest.approx([10.0])


def test_bucket_is_shared_and_thread_safe():
    fake = FakeTime()
    bucket = TokenBucket(per_minute=60, burst=10, monotonic=fake.monotonic, sleep=fake.sleep)
    threads = [
        threading.Thread(target=lambda: [bucket.acquire() for _ in range(10)]) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    # 80 requests, 10 from the burst: the other 70 each reserved a distinct later second.
    assert sorted(fake.slept) == pytest.approx([float(n) for n in range(1, 71)])
    assert TokenBucket.shared("x", 75) is TokenBucket.shared("x", 75)
    assert TokenBucket.shared("x", 75) is not TokenBucket.shared("y", 75)


def test_default_burst_is_ten_seconds_of_quota():
    assert TokenBucket(per_minute=75).capacity == 12
    assert TokenBucket(per_minute=5).capacity == 1


def test_deadline_counts_down_on_its_clock():
    fake = FakeTime()
    deadline = Deadline(45, monotonic=fake.monotonic)
    fake.now += 44.5
    assert deadline.remaining() == pytest.approx(0.5) and not deadline.expired()
    fake.now += 1
    assert deadline.remaining() == 0 and deadline.expired()


def test_backoff_is_exponential_jittered_and_capped():
    low = RetryPolicy(delay=1, max_delay=8, random=lambda: 0.0)
    high = RetryPolicy(delay=1, max_delay=8, random=lambda: 1.0)
    assert [low.backoff(n) for n in (1, 2, 3, 4, 5)] == [0.5, 1, 2, 4, 4]
    assert [high.backoff(n) for n in (1, 2, 3, 4, 5)] == [1, 2, 4, 8, 8]


def test_months_between_uses_new_york_months():
    # 2020-12-01 03:00 UTC is still November 30 in New York.
    assert months_between(utc("2020-11-30 14:30"), utc("2020-12-01 03:00")) == ["2020-11"]
    assert months_between(utc("2020-11-30 14:30"), utc("2021-01-04 15:00")) == [
        "2020-11",
        "2020-12",
        "2021-01",
    ]


def test_chunks_cover_the_window_in_pieces_of_at_most_the_size():
    pieces = chunks(utc("2020-11-23 14:30"), utc("2020-12-18 21:00"), pd.Timedelta(days=7))
    assert pieces[0][0] == utc("2020-11-23 14:30") and pieces[-1][1] == utc("2020-12-18 21:00")
    assert all(b - a <= pd.Timedelta(days=7) for a, b in pieces)
    assert all(pieces[n][1] == pieces[n + 1][0] for n in range(len(pieces) - 1))
    assert len(pieces) == 4


def test_freshness_is_judged_on_the_latest_bar_end():
    bars = pd.DataFrame({"timestamp": [utc("2020-12-18 19:00")]})
    minute, five = pd.Timedelta(minutes=1), pd.Timedelta(minutes=5)
    ensure_fresh(
        bars, "f", "MSFT", utc("2020-12-18 19:06"), five, minute
    )  # ends 19:01, 5 min before
    with pytest.raises(FeedStale):
        ensure_fresh(bars, "f", "MSFT", utc("2020-12-18 19:06:01"), five, minute)
    with pytest.raises(FeedStale):
        ensure_fresh(bars.iloc[:0], "f", "MSFT", utc("2020-12-18 19:06"), five, minute)
