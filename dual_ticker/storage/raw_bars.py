"""The `raw_bars` landing table: every delivered bar with its gate verdict. All of its SQL."""

from __future__ import annotations

import pandas as pd
from psycopg2.extras import execute_values

from dual_ticker.storage.bulk import copy_binary, read_frame, select_list

TABLE = "raw_bars"
COLUMNS = [
    "symbol",
    "timestamp",
    "data_source",
    "session",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "fetched_at",
    "run_id",
    "conflict",
    "gate_status",
    "gate_run_id",
    "gate_reason",
]
SCHEMA = [
    ("symbol", "text"),
    ("timestamp", "timestamptz"),
    ("data_source", "text"),
    ("session", "date"),
    ("open", "numeric"),
    ("high", "numeric"),
    ("low", "numeric"),
    ("close", "numeric"),
    ("volume", "bigint"),
    ("fetched_at", "timestamptz"),
    ("run_id", "text"),
    ("conflict", "boolean"),
    ("gate_status", "text"),
    ("gate_run_id", "text"),
    ("gate_reason", "text"),
]
GATED_COLUMNS = [
    "session",
    "symbol",
    "timestamp",
    "data_source",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "gate_status",
    "conflict",
    "gate_reason",
]
_KEYS = ["symbol", "timestamp", "data_source"]
_WIRE = {  # how a delivery travels to the server (binary COPY); prices become NUMERIC there
    "symbol": "text",
    "timestamp": "timestamptz",
    "data_source": "text",
    "session": "date",
    "open": "float8",
    "high": "float8",
    "low": "float8",
    "close": "float8",
    "volume": "int8",
    "fetched_at": "timestamptz",
    "run_id": "text",
    "conflict": "bool",
    "gate_status": "text",
    "gate_run_id": "text",
    "gate_reason": "text",
}
_INCOMING = ", ".join(
    f'"{c}" {"double precision" if t == "float8" else "bigint" if t == "int8" else "boolean" if t == "bool" else t}'
    for c, t in _WIRE.items()
)


def land(
    connection,
    bars: pd.DataFrame,
    run_id: str | None,
    fetched_at,
    conflicting: pd.DataFrame | None = None,
    verdicts: dict | None = None,
) -> int:
    """Stores a delivery (a `session` column names each row's session) with each session's
    verdict; a minute delivered again by the same source replaces the earlier row.

    `conflicting` holds minutes the delivery held twice with different values: one of them is
    stored, marked as a conflict, so the gate keeps blocking until a clean delivery replaces it.
    """
    if bars.empty:
        return 0
    flagged = pd.Series(False, index=bars.index)
    if conflicting is not None and not conflicting.empty:
        flagged = bars.set_index(_KEYS).index.isin(conflicting.set_index(_KEYS).index)
    verdicts = verdicts or {}
    status = {key: "passed" if passed else "rejected" for key, (passed, _) in verdicts.items()}
    frame = bars.assign(
        fetched_at=pd.Timestamp(fetched_at),
        run_id=run_id,
        conflict=flagged,
        gate_status=bars["session"].map(status).fillna("pending"),
        gate_run_id=run_id if verdicts else None,
        gate_reason=bars["session"].map({key: why for key, (_, why) in verdicts.items()}),
    )
    listed = ", ".join(f'"{c}"' for c in COLUMNS)
    updates = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in COLUMNS if c not in _KEYS)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE incoming_raw ({_INCOMING}) ON COMMIT DROP")
        copy_binary(cursor, "incoming_raw", frame, _WIRE)
        insert = f"INSERT INTO raw_bars AS r ({listed}) SELECT {listed} FROM incoming_raw"
        if _any_stored(cursor, frame["session"].unique()):
            insert += f""" ON CONFLICT (symbol, "timestamp", data_source) DO UPDATE SET {updates}"""
        cursor.execute(insert)  # else a plain load: nothing to replace
        cursor.execute("DROP TABLE incoming_raw")
    return len(frame)


def span(sessions) -> tuple:
    """[start, end) of the bar starts rows of these sessions can have (a row dated on a day with
    no session belongs to the session before it). Every query by session also bounds the time:
    on TimescaleDB that excludes the other chunks, and keeps DML from decompressing settled
    history it does not touch."""
    days = [pd.Timestamp(str(key)) for key in sessions]
    return (
        (min(days) - pd.Timedelta(days=1)).tz_localize("UTC").to_pydatetime(),
        (max(days) + pd.Timedelta(days=11)).tz_localize("UTC").to_pydatetime(),
    )


def _any_stored(cursor, sessions) -> bool:
    cursor.execute(
        """SELECT EXISTS (SELECT 1 FROM raw_bars WHERE session = ANY(%s::date[])
                          AND "timestamp" >= %s AND "timestamp" < %s)""",
        ([str(s) for s in sessions], *span(sessions)),
    )
    return cursor.fetchone()[0]


def rows(connection, sessions: list[str], symbols) -> pd.DataFrame:
    """The stored rows of the sessions (all sources), with their session key and gate marks."""
    with connection.cursor() as cursor:
        # The stored rows are sorted, then converted (the outer ORDER BY reuses that order):
        # sorting the converted rows took PostgreSQL 15 half as long again (49 ms instead of
        # 34 ms for a month of two symbols).
        cursor.execute(
            f"""SELECT {select_list(GATED_COLUMNS, "stored")} FROM (
                    SELECT * FROM raw_bars WHERE session = ANY(%s::date[]) AND symbol = ANY(%s)
                      AND "timestamp" >= %s AND "timestamp" < %s
                    ORDER BY session, symbol, "timestamp", data_source) AS stored
                ORDER BY stored.session, stored.symbol, stored."timestamp", stored.data_source""",
            (list(sessions), list(symbols), *span(sessions)),
        )
        return read_frame(cursor, GATED_COLUMNS)


def stored_starts(connection, sessions: list[str], symbols) -> pd.DataFrame:
    """The distinct bar starts stored per session and symbol (any source), leaving out sessions the
    gate rejected: those are fetched whole again, as the provider may have corrected them."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT DISTINCT {select_list(["session", "symbol", "timestamp"])} FROM raw_bars
               WHERE session = ANY(%s::date[]) AND symbol = ANY(%s)
                 AND "timestamp" >= %s AND "timestamp" < %s
                 AND (session, symbol) NOT IN (SELECT session, symbol FROM raw_bars
                                               WHERE session = ANY(%s::date[]) AND gate_status = 'rejected'
                                                 AND "timestamp" >= %s AND "timestamp" < %s)""",
            (list(sessions), list(symbols), *span(sessions), list(sessions), *span(sessions)),
        )
        return read_frame(cursor, ["session", "symbol", "timestamp"])


def mark_gate(
    connection, verdicts: dict[str, tuple[bool, str | None]], symbols, run_id: str | None
) -> int:
    """Marks each session's rows passed or rejected by this run, with the reason (rows whose mark
    is already right are left alone)."""
    keys = list(verdicts)
    with connection.cursor() as cursor:
        cursor.execute(
            """UPDATE raw_bars r SET gate_status = v.status, gate_run_id = %s, gate_reason = v.reason
               FROM unnest(%s::date[], %s::text[], %s::text[]) AS v(session, status, reason)
               WHERE r.session = v.session AND r.symbol = ANY(%s)
                 AND r."timestamp" >= %s AND r."timestamp" < %s
                 AND (r.gate_status <> v.status
                      OR (v.status = 'rejected' AND (r.gate_run_id IS DISTINCT FROM %s
                                                     OR r.gate_reason IS DISTINCT FROM v.reason)))""",
            (
                run_id,
                keys,
                ["passed" if verdicts[k][0] else "rejected" for k in keys],
                [verdicts[k][1] for k in keys],
                list(symbols),
                *span(keys),
                run_id,
            ),
        )
        return cursor.rowcount


def unpassed(connection, sessions: list[str], symbols) -> dict[str, str]:
    """{session: why} for the sessions holding rows the gate did not pass (rejected or pending)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT DISTINCT ON (session) session::text, coalesce(gate_reason, 'not gated yet')
               FROM raw_bars WHERE session = ANY(%s::date[]) AND symbol = ANY(%s)
                 AND "timestamp" >= %s AND "timestamp" < %s AND gate_status <> 'passed'
               ORDER BY session, gate_status DESC""",
            (list(sessions), list(symbols), *span(sessions)),
        )
        return dict(cursor.fetchall())


def regular_counts(connection, windows: dict, symbols) -> dict[str, int]:
    """{symbol: distinct bar starts inside the sessions' regular hours up to as_of} (any source)."""
    keys = list(windows)
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT r.symbol, count(DISTINCT r."timestamp")
               FROM raw_bars r
               JOIN unnest(%s::date[], %s::timestamptz[], %s::timestamptz[])
                    AS w(session, opened, ends) ON r.session = w.session
               WHERE r.symbol = ANY(%s) AND r."timestamp" >= w.opened
                 AND r."timestamp" + interval '1 minute' <= w.ends
                 AND r."timestamp" >= %s AND r."timestamp" < %s
               GROUP BY r.symbol""",
            (
                keys,
                [windows[k].opened.to_pydatetime() for k in keys],
                [min(windows[k].closed, windows[k].as_of).to_pydatetime() for k in keys],
                list(symbols),
                *span(keys),
            ),
        )
        return {symbol: int(n) for symbol, n in cursor.fetchall()}


def latest_verdict(connection) -> tuple[str, str, str | None, str | None] | None:
    """(session, status, gate run id, reason) of the latest gated session, a rejected row's
    verdict first; None before anything was gated."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT max(session) FROM raw_bars WHERE gate_status <> 'pending'")
        (session,) = cursor.fetchone()
        if session is None:
            return None
        cursor.execute(
            """SELECT gate_status, gate_run_id, gate_reason FROM raw_bars
               WHERE session = %s AND gate_status <> 'pending'
               ORDER BY gate_status = 'rejected' DESC LIMIT 1""",
            (session,),
        )
        status, run_id, reason = cursor.fetchone()
        return str(session), status, run_id, reason


def quarantine(connection, rows: pd.DataFrame, run_id: str | None, fetched_at) -> int:
    """Keeps delivered rows the gate could not use (quality.quarantine.COLUMNS) in
    `quarantined_bars`, as delivered, with the run, the session, the failed check and why."""
    if rows.empty:
        return 0
    stamps = [None if pd.isna(t) else t.to_pydatetime() for t in rows["timestamp"]]
    with connection.cursor() as cursor:
        execute_values(
            cursor,
            """INSERT INTO quarantined_bars (run_id, session, symbol, data_source, "timestamp",
                                             delivered, check_name, reason, fetched_at)
               VALUES %s""",
            [
                (run_id, str(session), symbol, source, stamp, delivered, check, reason, fetched_at)
                for (session, symbol, source, delivered, check, reason), stamp in zip(
                    rows[
                        ["session", "symbol", "data_source", "delivered", "check_name", "reason"]
                    ].itertuples(index=False, name=None),
                    stamps,
                    strict=True,
                )
            ],
            template="(%s, %s::date, %s, %s, %s, %s::jsonb, %s, %s, %s)",
        )
    return len(rows)


def quarantine_rejected(
    connection, source: str, minutes: pd.DataFrame, check_name: str, reason: str
) -> int:
    """Moves the rows of `source` at these minutes (symbol, timestamp) that the gate rejected
    from raw_bars to `quarantined_bars`, each with the run and time it was fetched: a later
    delivery of theirs was refused, so they stand for nothing any more and must not keep a
    session blocked that another feed serves."""
    if minutes.empty:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            """WITH moved AS (
                   DELETE FROM raw_bars r
                   USING unnest(%s::text[], %s::timestamptz[]) AS m(symbol, "timestamp")
                   WHERE r.data_source = %s AND r.gate_status = 'rejected'
                     AND r.symbol = m.symbol AND r."timestamp" = m."timestamp"
                     AND r."timestamp" >= %s AND r."timestamp" <= %s
                   RETURNING r.*)
               INSERT INTO quarantined_bars (run_id, session, symbol, data_source, "timestamp",
                                             delivered, check_name, reason, fetched_at)
               SELECT run_id, session, symbol, data_source, "timestamp",
                      jsonb_build_object('timestamp', "timestamp"::text, 'open', open,
                                         'high', high, 'low', low, 'close', close,
                                         'volume', volume),
                      %s, %s, fetched_at
               FROM moved""",
            (
                list(minutes["symbol"]),
                [t.to_pydatetime() for t in minutes["timestamp"]],
                source,
                minutes["timestamp"].min().to_pydatetime(),
                minutes["timestamp"].max().to_pydatetime(),
                check_name,
                reason,
            ),
        )
        return cursor.rowcount


_REGULAR_PASSED = """
    FROM raw_bars r
    JOIN unnest(%s::date[], %s::timestamptz[], %s::timestamptz[]) AS w(session, opened, ends)
      ON r.session = w.session
    WHERE r.symbol = ANY(%s) AND r.gate_status = 'passed' AND r."timestamp" >= w.opened
      AND r."timestamp" + interval '1 minute' <= w.ends
      AND r."timestamp" >= %s AND r."timestamp" < %s"""


def _window_arrays(windows: dict) -> tuple[list, list, list]:
    keys = list(windows)
    return (
        keys,
        [windows[k].opened.to_pydatetime() for k in keys],
        [min(windows[k].closed, windows[k].as_of).to_pydatetime() for k in keys],
    )


def record_gated(connection, windows: dict, verdicts: dict, symbols, run_id: str | None) -> None:
    """Keeps, per passed session and symbol, the regular minutes the gate passed (gated_minutes);
    a rejected session's figures go."""
    passed = {k: w for k, w in windows.items() if verdicts.get(k, (False, None))[0]}
    rejected = [k for k in windows if k not in passed]
    with connection.cursor() as cursor:
        if rejected:
            cursor.execute("DELETE FROM gated_minutes WHERE session = ANY(%s::date[])", (rejected,))
        if passed:
            cursor.execute(
                f"""INSERT INTO gated_minutes (session, symbol, minutes, run_id)
                    SELECT r.session, r.symbol, count(DISTINCT r."timestamp"), %s
                    {_REGULAR_PASSED}
                    GROUP BY r.session, r.symbol
                    ON CONFLICT (session, symbol) DO UPDATE
                    SET minutes = EXCLUDED.minutes, run_id = EXCLUDED.run_id, gated_at = now()""",
                (run_id, *_window_arrays(passed), list(symbols), *span(passed)),
            )


def passed_bars(connection, windows: dict, symbols, bar_minutes: int) -> dict[tuple, tuple]:
    """{(session, symbol): (regular minutes passed now, complete bars of bar_minutes they make,
    minutes the gate passed or None)} for the sessions' passed rows."""
    keys, opened, ends = _window_arrays(windows)
    lo, hi = span(keys)
    with connection.cursor() as cursor:
        cursor.execute(
            """WITH now_passed AS (
                   SELECT r.session, r.symbol, count(DISTINCT r."timestamp") AS minutes,
                          count(DISTINCT date_bin(%(step)s::interval, r."timestamp",
                                                  TIMESTAMPTZ '2000-01-03 00:00+00'))
                            FILTER (WHERE date_bin(%(step)s::interval, r."timestamp",
                                                   TIMESTAMPTZ '2000-01-03 00:00+00')
                                          + %(step)s::interval <= w.ends) AS bars
                   FROM raw_bars r
                   JOIN unnest(%(keys)s::date[], %(opened)s::timestamptz[], %(ends)s::timestamptz[])
                        AS w(session, opened, ends) ON r.session = w.session
                   WHERE r.symbol = ANY(%(symbols)s) AND r.gate_status = 'passed'
                     AND r."timestamp" >= w.opened AND r."timestamp" + interval '1 minute' <= w.ends
                     AND r."timestamp" >= %(lo)s AND r."timestamp" < %(hi)s
                   GROUP BY r.session, r.symbol)
               SELECT coalesce(n.session, g.session)::text, coalesce(n.symbol, g.symbol),
                      coalesce(n.minutes, 0), coalesce(n.bars, 0), g.minutes
               FROM now_passed n
               FULL JOIN (SELECT * FROM gated_minutes
                          WHERE session = ANY(%(keys)s::date[]) AND symbol = ANY(%(symbols)s)) g
                 ON g.session = n.session AND g.symbol = n.symbol""",
            {
                "step": f"{int(bar_minutes)} minutes",
                "keys": keys,
                "opened": opened,
                "ends": ends,
                "symbols": list(symbols),
                "lo": lo,
                "hi": hi,
            },
        )
        return {
            (session, symbol): (int(minutes), int(bars), gated)
            for session, symbol, minutes, bars, gated in cursor.fetchall()
        }
