"""Chunks with their next one prepared in the background: the same chunks in the same order, the
next chunk's preparation running while the caller works on the current one, progress reported
after the caller's work, and a failed preparation raised in its chunk's turn. Writes behind the
caller: one at a time, in order, all done on leaving, a failure raised at the next hand-off."""

from __future__ import annotations

import threading
import time

import pandas as pd
import pytest

from dual_ticker.calendar.windows import run_windows, session_keys
from dual_ticker.pipeline.chunks import in_chunks, in_chunks_ahead, written_behind

WINDOWS = run_windows(
    session_keys("2019-01-02", "2019-03-29"), pd.Timestamp("2019-04-01", tz="UTC"), None, 1, None
)


def test_same_chunks_in_order_each_with_what_was_prepared_for_it():
    plain = [list(chunk) for chunk in in_chunks(WINDOWS, 21, "raw_bars")]
    ahead = [(list(chunk), made) for chunk, made in in_chunks_ahead(WINDOWS, 21, "raw_bars", list)]
    assert [chunk for chunk, _ in ahead] == plain
    assert all(chunk == made for chunk, made in ahead)
    assert len(plain) == 3


def test_the_next_chunk_is_prepared_while_the_caller_works():
    started = {number: threading.Event() for number in range(3)}
    firsts = [sorted(chunk)[0] for chunk in in_chunks(WINDOWS, 21, "raw_bars")]

    def prepare(chunk):
        started[firsts.index(sorted(chunk)[0])].set()
        return threading.get_ident()

    progress = []
    chunks = in_chunks_ahead(WINDOWS, 21, "raw_bars", prepare, progress.append)
    for number, (_, made_by) in enumerate(chunks):
        assert made_by != threading.get_ident()
        if number + 1 < 3:  # the next one starts before this one's work ends
            assert started[number + 1].wait(timeout=10)
        assert len(progress) == number  # reported after the caller's work, not before
    assert [p.sessions_done for p in progress] == [21, 42, 61]


def test_a_failed_preparation_is_raised_in_its_chunks_turn():
    handled = []

    def prepare(chunk):
        if sorted(chunk)[0] >= "2019-02-01":
            raise RuntimeError("feed down")
        return len(chunk)

    with pytest.raises(RuntimeError, match="feed down"):
        for chunk, _ in in_chunks_ahead(WINDOWS, 21, "raw_bars", prepare):
            handled.append(sorted(chunk)[0])
    assert handled == [sorted(WINDOWS)[0]]


def test_one_chunk_is_prepared_in_the_callers_thread():
    few = dict(list(WINDOWS.items())[:5])
    [(_, made_by)] = list(in_chunks_ahead(few, 21, "raw_bars", lambda c: threading.get_ident()))
    assert made_by == threading.get_ident()


def test_writes_behind_run_in_order_one_at_a_time_and_are_all_done_on_leaving():

    done, running, gate = [], [], threading.Event()

    def write(number):
        running.append(number)
        assert len(running) == 1  # one write at a time
        if number == 0:
            assert gate.wait(timeout=10)  # held until the caller has moved on
        done.append(number)
        running.remove(number)

    with written_behind() as submit:
        submit(write, 0)
        gate.set()  # the caller got here while write 0 was still running
        submit(write, 1)  # waits for 0 first
        assert done[:1] == [0]
        submit(write, 2)
    assert done == [0, 1, 2]


def test_a_failed_write_behind_is_raised_at_the_next_hand_off():

    def fail():
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"), written_behind() as submit:
        submit(fail)
        submit(lambda: None)


def test_two_ahead_prepares_two_chunks_at_once_and_drops_the_rest_on_a_failure():
    both_running, started = threading.Barrier(2, timeout=10), []

    def prepare(chunk):
        first = sorted(chunk)[0]
        started.append(first)
        if first < "2019-03-01":
            both_running.wait()  # the first two chunks run at the same time
        if first >= "2019-02-01":
            raise RuntimeError("not staged")
        return first

    handled = []
    with pytest.raises(RuntimeError, match="not staged"):
        for chunk, _ in in_chunks_ahead(WINDOWS, 21, "dual_ticker_bars", prepare, ahead=2):
            handled.append(sorted(chunk)[0])
    assert handled == [sorted(WINDOWS)[0]]
    assert len(started) <= 3


def test_what_follows_a_write_runs_in_the_callers_thread_once_it_has_committed():
    caller, committed, followed = threading.get_ident(), [], []

    def write(number):
        time.sleep(0.05)
        committed.append(number)

    def then(number):
        followed.append((number, list(committed), threading.get_ident() == caller))

    with written_behind() as submit:
        for number in range(3):
            submit(write, number, then=lambda number=number: then(number))
    assert [number for number, _, _ in followed] == [0, 1, 2]
    assert all(number in seen and in_caller for number, seen, in_caller in followed)


def test_a_committed_write_is_followed_up_even_when_the_callers_work_fails():
    followed = []

    def fail():
        raise RuntimeError("disk full")

    with pytest.raises(ValueError, match="bad chunk"), written_behind() as submit:
        submit(lambda: None, then=lambda: followed.append("committed"))
        raise ValueError("bad chunk")
    assert followed == ["committed"]

    with pytest.raises(ValueError, match="bad chunk"), written_behind() as submit:
        submit(fail, then=lambda: followed.append("failed"))  # never followed up
        raise ValueError("bad chunk")  # the caller's failure is the one raised
    assert followed == ["committed"]
