"""The `dual_ticker_bars` contract table and its staging area (`staged_features`,
`staged_sessions`): feature rows staged per session, then published in one transaction.
All of their SQL."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from dual_ticker.features.indicators import FEATURE_COLUMNS
from dual_ticker.storage.bulk import copy_binary, read_frame, select_list

TABLE = "dual_ticker_bars"
COLUMNS = ["timestamp", "symbol", *FEATURE_COLUMNS, "data_source"]
SCHEMA = [
    ("timestamp", "timestamptz"),
    ("symbol", "text"),
    *[(c, "numeric(12,4)") for c in ("open", "high", "low", "close")],
    ("volume", "bigint"),
    *[(c, "double precision") for c in FEATURE_COLUMNS[5:]],
    ("data_source", "text"),
    ("created_at", "timestamptz"),
]
_VALUES = [c for c in COLUMNS if c not in ("timestamp", "symbol")]
_LISTED = ", ".join(f'"{c}"' for c in COLUMNS)
_STAGED_WIRE = {
    "session": "date",
    "timestamp": "timestamptz",
    "symbol": "text",
    **{c: "int8" if c == "volume" else "float8" for c in FEATURE_COLUMNS},
    "data_source": "text",
}
# Staged rows as the contract's columns: an indicator without inputs (NaN) is NULL there.
_FROM_STAGED = ", ".join(
    f"NULLIF(\"{c}\", 'NaN')" if c in FEATURE_COLUMNS[5:] else f'"{c}"' for c in COLUMNS
)


class NotStaged(RuntimeError):
    """dual_ticker_bars was asked to publish sessions whose features are not staged."""


def history_before(connection, symbols, before: pd.Timestamp, bars_per_symbol: int) -> pd.DataFrame:
    """The latest stored bars before a time, per symbol, oldest first (indicator warm-up)."""
    columns = ["symbol", "timestamp", "open", "high", "low", "close", "volume", "data_source"]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT {select_list(columns, "b")}
                FROM unnest(%s::text[]) AS s(symbol)
                CROSS JOIN LATERAL (
                    SELECT * FROM dual_ticker_bars d
                    WHERE d.symbol = s.symbol AND d."timestamp" < %s
                    ORDER BY d."timestamp" DESC LIMIT %s
                ) b
                ORDER BY b.symbol, b."timestamp" """,
            (list(symbols), before.to_pydatetime(), bars_per_symbol),
        )
        return read_frame(cursor, columns)


def stage(connection, rows: pd.DataFrame, sessions: list[str], run_id: str | None) -> int:
    """Stages the sessions' feature rows (a `session` column names each row's session), replacing
    what was staged for them; a session without rows is staged empty."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM staged_features WHERE session = ANY(%s::date[])", (sessions,))
        if len(rows):
            copy_binary(cursor, "staged_features", rows, _STAGED_WIRE)
        counts = rows.groupby("session").size() if len(rows) else pd.Series(dtype=int)
        cursor.execute(
            """INSERT INTO staged_sessions (session, run_id, rows)
               SELECT s, %s, n FROM unnest(%s::date[], %s::int[]) AS v(s, n)
               ON CONFLICT (session) DO UPDATE SET run_id = EXCLUDED.run_id, rows = EXCLUDED.rows,
                                                   staged_at = now()""",
            (run_id, sessions, [int(counts.get(s, 0)) for s in sessions]),
        )
    return len(rows)


def publish(connection, windows: dict, symbols) -> dict:
    """Makes the symbols' rows in each session's window exactly the staged ones, in the caller's
    transaction, then clears the staging. Unchanged rows keep their created_at, so a re-run leaves
    the table identical; into an empty window the rows are a plain insert."""
    keys = list(windows)
    opened = [windows[k].opened.to_pydatetime() for k in keys]
    closed = [windows[k].closed.to_pydatetime() for k in keys]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT session::text FROM staged_sessions WHERE session = ANY(%s::date[])", (keys,)
        )
        missing = sorted(set(keys) - {row[0] for row in cursor.fetchall()})
        if missing:
            raise NotStaged(
                f"features are not staged for session(s) {', '.join(missing[:5])}; "
                "materialize features for them first"
            )
        # One index probe per window: as a join, an empty window (every chunk of a first
        # backfill) made PostgreSQL scan the whole table, so each chunk cost more than the last.
        cursor.execute(
            """SELECT EXISTS (SELECT 1 FROM unnest(%s::timestamptz[], %s::timestamptz[]) AS w(opened, closed)
                              WHERE EXISTS (SELECT 1 FROM dual_ticker_bars d
                                            WHERE d.symbol = ANY(%s) AND d."timestamp" >= w.opened
                                              AND d."timestamp" < w.closed))""",
            (opened, closed, list(symbols)),
        )
        occupied = cursor.fetchone()[0]
        staged = f"SELECT {_FROM_STAGED} FROM staged_features WHERE session = ANY(%s::date[])"
        deleted = 0
        if not occupied:
            cursor.execute(f"INSERT INTO dual_ticker_bars ({_LISTED}) {staged}", (keys,))
            upserted = cursor.rowcount
        else:
            assignments = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in _VALUES)
            changed = " OR ".join(f'd."{c}" IS DISTINCT FROM EXCLUDED."{c}"' for c in _VALUES)
            cursor.execute(
                f"""INSERT INTO dual_ticker_bars AS d ({_LISTED}) {staged}
                    ON CONFLICT (symbol, "timestamp") DO UPDATE SET {assignments}, created_at = now()
                    WHERE {changed}""",
                (keys,),
            )
            upserted = cursor.rowcount
            # Stored rows the staging no longer has. Not correlated with the window's session
            # (windows do not overlap), so the planner hashes the staged rows once: correlated,
            # it probed the session's staged rows per stored row (85 ms a minute run late in the
            # day, growing with the session).
            cursor.execute(
                """DELETE FROM dual_ticker_bars d
                   USING unnest(%s::timestamptz[], %s::timestamptz[]) AS w(opened, closed)
                   WHERE d.symbol = ANY(%s) AND d."timestamp" >= w.opened AND d."timestamp" < w.closed
                     AND d."timestamp" >= %s AND d."timestamp" < %s
                     AND NOT EXISTS (SELECT 1 FROM staged_features s
                                     WHERE s.session = ANY(%s::date[]) AND s.symbol = d.symbol
                                       AND s."timestamp" = d."timestamp")""",
                (opened, closed, list(symbols), min(opened), max(closed), keys),
            )
            deleted = cursor.rowcount
        cursor.execute("DELETE FROM staged_features WHERE session = ANY(%s::date[])", (keys,))
        cursor.execute("DELETE FROM staged_sessions WHERE session = ANY(%s::date[])", (keys,))
    return {"upserted": upserted, "deleted": deleted}


def count_in(connection, windows: dict) -> int:
    """Rows stored inside the sessions' windows."""
    keys = list(windows)
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT count(*) FROM dual_ticker_bars d
               JOIN unnest(%s::timestamptz[], %s::timestamptz[]) AS w(opened, closed)
                 ON d."timestamp" >= w.opened AND d."timestamp" < w.closed""",
            (
                [windows[k].opened.to_pydatetime() for k in keys],
                [windows[k].closed.to_pydatetime() for k in keys],
            ),
        )
        return cursor.fetchone()[0]


def counts_by_session(connection, windows: dict, symbols) -> dict[tuple[str, str], int]:
    """{(session, symbol): rows stored inside the session's window}."""
    keys = list(windows)
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT w.session::text, d.symbol, count(*) FROM dual_ticker_bars d
               JOIN unnest(%s::date[], %s::timestamptz[], %s::timestamptz[])
                    AS w(session, opened, closed)
                 ON d."timestamp" >= w.opened AND d."timestamp" < w.closed
               WHERE d.symbol = ANY(%s)
               GROUP BY w.session, d.symbol""",
            (
                keys,
                [windows[k].opened.to_pydatetime() for k in keys],
                [windows[k].closed.to_pydatetime() for k in keys],
                list(symbols),
            ),
        )
        return {(session, symbol): int(n) for session, symbol, n in cursor.fetchall()}


def latest(connection, symbols: Iterable[str], at_or_before: pd.Timestamp) -> dict[str, tuple]:
    """Per symbol, (start, *FEATURE_COLUMNS) of its latest bar starting at or before a time."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT s.symbol, b."timestamp", {", ".join(f'b."{c}"' for c in FEATURE_COLUMNS)}
                FROM unnest(%s::text[]) AS s(symbol)
                CROSS JOIN LATERAL (SELECT * FROM dual_ticker_bars d WHERE d.symbol = s.symbol
                                    AND d."timestamp" <= %s ORDER BY d."timestamp" DESC LIMIT 1) b""",
            (list(symbols), at_or_before.to_pydatetime()),
        )
        return {row[0]: row[1:] for row in cursor.fetchall()}


def latest_closes(
    connection, symbols: Iterable[str], before: pd.Timestamp | None = None
) -> dict[str, float]:
    """{symbol: close of its latest bar starting before `before`}; symbols without bars absent."""
    symbols = sorted(set(symbols))
    if not symbols:
        return {}
    query = """SELECT DISTINCT ON (symbol) symbol, close FROM dual_ticker_bars
               WHERE symbol = ANY(%s)"""
    params: list = [symbols]
    if before is not None:
        query += ' AND "timestamp" < %s'
        params.append(before.to_pydatetime())
    with connection.cursor() as cursor:
        cursor.execute(query + ' ORDER BY symbol, "timestamp" DESC', params)
        return {symbol: float(close) for symbol, close in cursor.fetchall()}


def latest_starts(connection, symbols: Iterable[str]) -> dict[str, pd.Timestamp | None]:
    """{symbol: start of its latest stored bar, or None} (an index lookup per symbol)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT s.symbol, (SELECT max("timestamp") FROM dual_ticker_bars b
                                 WHERE b.symbol = s.symbol)
               FROM unnest(%s::text[]) AS s(symbol)""",
            (list(symbols),),
        )
        return {
            symbol: pd.Timestamp(start) if start is not None else None
            for symbol, start in cursor.fetchall()
        }


def features_in(connection, symbols, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """symbol, timestamp and the 13 features of the bars starting in [start, end), by time."""
    columns = ["symbol", "timestamp", *FEATURE_COLUMNS]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT {select_list(columns)} FROM dual_ticker_bars
                WHERE symbol = ANY(%s) AND "timestamp" >= %s AND "timestamp" < %s
                ORDER BY "timestamp" """,
            (list(symbols), start.to_pydatetime(), end.to_pydatetime()),
        )
        frame = read_frame(cursor, columns)
    frame[FEATURE_COLUMNS] = frame[FEATURE_COLUMNS].astype("float64")
    return frame
