"""Publishing staged features makes each session's rows of dual_ticker_bars exactly the staged
ones: a minute no longer staged is deleted, in its own session only; unchanged rows keep their
created_at; a second publish of the same rows changes nothing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import psycopg2

from dual_ticker.calendar.windows import run_windows
from dual_ticker.features.indicators import FEATURE_COLUMNS
from dual_ticker.storage import contract_bars
from dual_ticker.storage.database import transaction

SESSIONS = ["2020-12-17", "2020-12-18"]
WINDOWS = run_windows(SESSIONS, pd.Timestamp("2020-12-19", tz="UTC"), None, 1, None)


def _features(minutes: int = 30) -> pd.DataFrame:
    frames = []
    for key, window in WINDOWS.items():
        for number, symbol in enumerate(("NVDA", "MSFT")):
            stamps = pd.date_range(window.opened, periods=minutes, freq="1min")
            price = 100.0 * (number + 1) + np.arange(minutes) / 100
            frame = pd.DataFrame({"session": key, "timestamp": stamps, "symbol": symbol})
            for column in FEATURE_COLUMNS:
                frame[column] = price if column != "volume" else 1_000
            frame["data_source"] = "replay"
            frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _publish(url: str, rows: pd.DataFrame) -> dict:
    with transaction(url) as connection:
        contract_bars.stage(connection, rows, SESSIONS, "run")
        return contract_bars.publish(connection, WINDOWS, ["NVDA", "MSFT"])


def _stored(url: str) -> pd.DataFrame:
    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute('SELECT symbol, "timestamp", created_at FROM dual_ticker_bars ORDER BY 1, 2')
        return pd.DataFrame(cursor.fetchall(), columns=["symbol", "timestamp", "created_at"])


def test_publish_replaces_each_sessions_rows_with_the_staged_ones(database_url):
    rows = _features()
    assert _publish(database_url, rows) == {"upserted": 120, "deleted": 0}
    first = _stored(database_url)

    # The last minute of NVDA in the second session is no longer staged; the first session's
    # row at the same minute of the day stays.
    window = WINDOWS["2020-12-18"]
    gone = (rows["symbol"] == "NVDA") & (rows["timestamp"] == window.opened + pd.Timedelta("29min"))
    assert _publish(database_url, rows[~gone]) == {"upserted": 0, "deleted": 1}
    after = _stored(database_url)
    assert len(after) == 119
    kept = first.merge(after, on=["symbol", "timestamp"], suffixes=("", "_after"))
    assert len(kept) == 119
    assert (kept["created_at"] == kept["created_at_after"]).all()
    last = window.opened + pd.Timedelta("29min")
    assert not ((after["symbol"] == "NVDA") & (after["timestamp"] == last)).any()

    assert _publish(database_url, rows[~gone]) == {"upserted": 0, "deleted": 0}
    assert _stored(database_url).equals(after)


def test_an_index_serves_the_staged_rows_by_key(database_url):
    """The delete of rows no longer staged probes the staging by (session, symbol, timestamp):
    with only a session index, each probe read the session's whole staging."""
    with psycopg2.connect(database_url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'staged_features'")
        definitions = [row[0] for row in cursor.fetchall()]
    assert any('(session, symbol, "timestamp")' in d for d in definitions), definitions


def _contract(url: str) -> pd.DataFrame:
    """Every stored row, every column, created_at included."""
    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute('SELECT * FROM dual_ticker_bars ORDER BY symbol, "timestamp"')
        return pd.DataFrame(cursor.fetchall(), columns=[d.name for d in cursor.description])


def test_publishing_one_session_leaves_the_other_stored_sessions_identical(database_url):
    """Checked against the breakage of issue 27: the delete of rows no longer staged without its
    session window (`d."timestamp" >= w.opened AND d."timestamp" < w.closed` dropped) deletes the
    other session's rows; this test then fails."""
    rows = _features()
    _publish(database_url, rows)
    before = _contract(database_url)
    first, second = SESSIONS
    changed = rows[rows["session"] == second].assign(close=lambda f: f["close"] + 1)
    with transaction(database_url) as connection:
        contract_bars.stage(connection, changed, [second], "run")
        counts = contract_bars.publish(connection, {second: WINDOWS[second]}, ["NVDA", "MSFT"])

    assert counts == {"upserted": 60, "deleted": 0}
    after = _contract(database_url)
    days = before["timestamp"].dt.tz_convert("America/New_York").dt.strftime("%Y-%m-%d")
    days_after = after["timestamp"].dt.tz_convert("America/New_York").dt.strftime("%Y-%m-%d")
    untouched = before[days == first].reset_index(drop=True)
    pd.testing.assert_frame_equal(after[days_after == first].reset_index(drop=True), untouched)
    assert len(after[days_after == second]) == 60
