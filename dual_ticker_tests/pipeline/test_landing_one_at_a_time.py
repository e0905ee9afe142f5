"""A range lands two chunks at once: each is judged while the other writes, and their writes (the
failure totals and feed health they share among them) go one transaction at a time."""

from __future__ import annotations

import threading
import time
from functools import partial

import pandas as pd

from dual_ticker.calendar.windows import run_windows, session_keys
from dual_ticker.feeds.replay import ReplayFeed
from dual_ticker.pipeline import steps
from dual_ticker.storage.database import transaction
from dual_ticker.storage.migrations import apply_migrations
from dual_ticker_tests.support.pipeline import REPLAY_DIR, scalar

NOW = pd.Timestamp("2020-12-19", tz="UTC")


def _landed(url, settings, keys, connection=None):
    """Fetches the sessions from the replay and lands them (in `connection`'s open transaction
    when given, else in a transaction of its own)."""
    windows = run_windows(keys, NOW, None, 1, None)
    feed = ReplayFeed(REPLAY_DIR)
    delivery = steps.fetch_missing(
        partial(transaction, url), windows, settings.data.symbols, [feed], None
    )
    gate = (settings, ["alpha_vantage", "yahoo_finance"], None, NOW, False)
    if connection is not None:
        return steps.land_and_gate(connection, delivery, windows, *gate)
    with transaction(url) as own:
        return steps.land_and_gate(own, delivery, windows, *gate)


def _waiting_on_the_landing_lock(url) -> int:
    return scalar(
        url,
        """SELECT count(*) FROM pg_stat_activity
           WHERE datname = current_database()
             AND wait_event_type = 'Lock' AND wait_event = 'advisory'""",
    )


def test_a_chunks_writes_wait_for_the_other_chunks_transaction(database_url, settings):
    apply_migrations(database_url)
    first, second = (
        session_keys("2020-12-01", "2020-12-02"),
        session_keys("2020-12-03", "2020-12-04"),
    )
    with transaction(database_url) as holding:
        _landed(database_url, settings, first, holding)  # written, not committed
        other = threading.Thread(target=_landed, args=(database_url, settings, second))
        other.start()
        for _ in range(600):  # the other chunk was judged and now waits to write
            if _waiting_on_the_landing_lock(database_url) == 1:
                break
            time.sleep(0.05)
        assert _waiting_on_the_landing_lock(database_url) == 1
        assert other.is_alive()
        assert scalar(database_url, "SELECT count(*) FROM raw_bars") == 0
    other.join(timeout=60)  # the first chunk committed: the second writes
    assert not other.is_alive()
    sessions = scalar(
        database_url,
        "SELECT string_agg(DISTINCT session::text, ',' ORDER BY session::text) FROM raw_bars",
    )
    assert sessions == "2020-12-01,2020-12-02,2020-12-03,2020-12-04"
    assert scalar(database_url, "SELECT count(DISTINCT gate_status) FROM raw_bars") == 1
