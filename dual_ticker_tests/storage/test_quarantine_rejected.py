"""What quarantine moves: a refused re-delivery of a feed moves that feed's REJECTED rows at its
minutes from `raw_bars` to `quarantined_bars`; the feed's passed rows at the same minutes stay in
`raw_bars` untouched. The re-delivery here spans two sessions of a range run: the first was
blocked earlier (its rows rejected), the second passed.

Checked against the breakage of issue 27 in dual_ticker/storage/raw_bars.py: the DELETE of
`quarantine_rejected` without its `r.gate_status = 'rejected'` condition moves the passed rows
too, and this test fails.
"""

import pandas as pd
import psycopg2

from dual_ticker.storage import raw_bars
from dual_ticker.storage.database import transaction
from dual_ticker_tests.quality.sessions import valid_session

BLOCKED, PASSED = "2020-11-30", "2020-12-01"
FEED = "alpha_vantage"
CHECK = "check_raw_bars_ohlc"


def _session_rows(day: str, seed: int) -> pd.DataFrame:
    rows = valid_session(day, seed, source=FEED).drop(columns="conflict")
    return rows.assign(session=day).head(20).reset_index(drop=True)


def _stored(url: str, table: str) -> pd.DataFrame:
    columns = 'session::text, symbol, data_source, "timestamp"'
    extra = (
        ", open, high, low, close, volume, gate_status, gate_run_id" if table == "raw_bars" else ""
    )
    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns}{extra} FROM {table} ORDER BY 1, 2, 4")
        return pd.DataFrame(cursor.fetchall(), columns=[d.name for d in cursor.description])


def test_a_refused_redelivery_moves_only_the_rejected_rows_of_its_feed(database_url):
    blocked, passed = _session_rows(BLOCKED, 50), _session_rows(PASSED, 51)
    with transaction(database_url) as connection:
        raw_bars.land(
            connection,
            blocked,
            "run-1",
            "2020-11-30T21:00Z",
            None,
            {BLOCKED: (False, "ohlc_violation: 1 bar")},
        )
        raw_bars.land(
            connection, passed, "run-2", "2020-12-01T21:00Z", None, {PASSED: (True, None)}
        )
    passed_before = _stored(database_url, "raw_bars").query("session == @PASSED")

    redelivered = pd.concat([blocked, passed])[["symbol", "timestamp"]]
    with transaction(database_url) as connection:
        moved = raw_bars.quarantine_rejected(connection, FEED, redelivered, CHECK, "refused")

    assert moved == len(blocked)
    after = _stored(database_url, "raw_bars")
    assert set(after["session"]) == {PASSED}
    pd.testing.assert_frame_equal(
        after.reset_index(drop=True), passed_before.reset_index(drop=True)
    )
    kept = _stored(database_url, "quarantined_bars")
    assert len(kept) == len(blocked) and set(kept["session"]) == {BLOCKED}
