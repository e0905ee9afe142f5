"""Reads and writes of the bar tables: raw landing, gate marks, and the dual_ticker_bars contract."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from dual_ticker.features.indicators import FEATURE_COLUMNS

RAW_COLUMNS = [
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
CONTRACT_COLUMNS = ["timestamp", "symbol", *FEATURE_COLUMNS, "data_source"]
_VALUE_COLUMNS = [c for c in CONTRACT_COLUMNS if c not in ("timestamp", "symbol")]


def _csv_ready(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Timestamps as ISO text with offset, formatted vectorised (pandas' date_format is slow)."""
    out = frame[columns].copy()
    for column in columns:
        if isinstance(out[column].dtype, pd.DatetimeTZDtype):
            utc = out[column].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
            out[column] = pd.Series(np.datetime_as_string(utc, unit="us"), index=out.index) + "+00"
    return out


def _copy(cursor, table: str, frame: pd.DataFrame, columns: list[str]) -> None:
    buffer = io.StringIO()
    _csv_ready(frame, columns).to_csv(buffer, index=False, header=False, na_rep="\\N")
    buffer.seek(0)
    quoted = ", ".join(f'"{c}"' for c in columns)
    cursor.copy_expert(f"COPY {table} ({quoted}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", buffer)


def land_raw_bars(
    connection,
    bars: pd.DataFrame,
    run_id: str | None,
    fetched_at,
    conflicting: pd.DataFrame | None = None,
    verdicts: dict | None = None,
) -> int:
    """Stores a delivery (a `session` column names each row's session); a minute delivered again
    by the same source replaces the earlier row.

    `conflicting` holds minutes the delivery held twice with different values: one of them is
    stored, marked as a conflict, so the gate keeps blocking until a clean delivery replaces it.
    """
    if bars.empty:
        return 0
    keys = ["symbol", "timestamp", "data_source"]
    flagged = pd.Series(False, index=bars.index)
    if conflicting is not None and not conflicting.empty:
        flagged = bars.set_index(keys).index.isin(conflicting.set_index(keys).index)
    verdicts = verdicts or {}
    passed = bars["session"].map(lambda key: verdicts.get(key, (None, None))[0])
    frame = bars.assign(
        fetched_at=pd.Timestamp(fetched_at),
        run_id=run_id,
        conflict=flagged,
        gate_status=passed.map({True: "passed", False: "rejected"}).fillna("pending"),
        gate_run_id=run_id if verdicts else None,
        gate_reason=bars["session"].map(lambda key: verdicts.get(key, (None, None))[1]),
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE incoming_raw (LIKE raw_bars INCLUDING DEFAULTS) ON COMMIT DROP"
        )
        _copy(cursor, "incoming_raw", frame, RAW_COLUMNS)
        cursor.execute(
            """
            INSERT INTO raw_bars AS r (symbol, "timestamp", data_source, session, open, high, low, close,
                                       volume, fetched_at, run_id, conflict, gate_status, gate_run_id, gate_reason)
            SELECT symbol, "timestamp", data_source, session, open, high, low, close, volume, fetched_at,
                   run_id, conflict, gate_status, gate_run_id, gate_reason
            FROM incoming_raw
            ON CONFLICT (symbol, "timestamp", data_source) DO UPDATE SET
                session = EXCLUDED.session, open = EXCLUDED.open, high = EXCLUDED.high,
                low = EXCLUDED.low, close = EXCLUDED.close, volume = EXCLUDED.volume,
                fetched_at = EXCLUDED.fetched_at, run_id = EXCLUDED.run_id, conflict = EXCLUDED.conflict,
                gate_status = EXCLUDED.gate_status, gate_run_id = EXCLUDED.gate_run_id,
                gate_reason = EXCLUDED.gate_reason
            """
        )
        cursor.execute("DROP TABLE incoming_raw")
    return len(frame)


def _frame(cursor, columns: list[str]) -> pd.DataFrame:
    """Rows as a frame; "timestamp" arrives as epoch seconds and prices as float8 (see _select)."""
    frame = pd.DataFrame(cursor.fetchall(), columns=columns)
    if "timestamp" in frame:
        frame["timestamp"] = pd.to_datetime(
            frame["timestamp"].astype("float64"), unit="s", utc=True
        )
    for column in ("open", "high", "low", "close"):
        if column in frame:
            frame[column] = frame[column].astype("float64")
    if "volume" in frame:
        frame["volume"] = frame["volume"].astype("int64")
    if "conflict" in frame:
        frame["conflict"] = frame["conflict"].astype(bool)
    return frame


def _select(columns: list[str], alias: str = "") -> str:
    """SELECT list that converts in the server: epoch seconds and float8 parse fast in pandas."""
    prefix = f"{alias}." if alias else ""
    parts = []
    for column in columns:
        if column == "timestamp":
            parts.append(f'extract(epoch FROM {prefix}"timestamp")::float8')
        elif column in ("open", "high", "low", "close"):
            parts.append(f'{prefix}"{column}"::float8')
        elif column == "session":
            parts.append(f"{prefix}session::text")
        else:
            parts.append(f'{prefix}"{column}"')
    return ", ".join(parts)


def raw_rows(connection, sessions: list[str], symbols) -> pd.DataFrame:
    """The stored raw rows of the sessions (all sources), with their session key and gate marks."""
    columns = [
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
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT {_select(columns)} FROM raw_bars
                WHERE session = ANY(%s::date[]) AND symbol = ANY(%s)
                ORDER BY session, symbol, "timestamp", data_source""",
            (list(sessions), list(symbols)),
        )
        return _frame(cursor, columns)


def stored_starts(connection, sessions: list[str], symbols) -> pd.DataFrame:
    """The distinct bar starts stored per session and symbol (any source), leaving out sessions the
    gate rejected: those are fetched whole again, as the provider may have corrected them."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT DISTINCT {_select(["session", "symbol", "timestamp"])} FROM raw_bars
               WHERE session = ANY(%s::date[]) AND symbol = ANY(%s)
                 AND (session, symbol) NOT IN (SELECT session, symbol FROM raw_bars
                                               WHERE session = ANY(%s::date[]) AND gate_status = 'rejected')""",
            (list(sessions), list(symbols), list(sessions)),
        )
        return _frame(cursor, ["session", "symbol", "timestamp"])


def mark_gate(
    connection, verdicts: dict[str, tuple[bool, str | None]], symbols, run_id: str | None
) -> int:
    """Marks each session's raw rows passed or rejected by this run, with the reason (rows whose
    mark is already right are left alone)."""
    keys = list(verdicts)
    with connection.cursor() as cursor:
        cursor.execute(
            """UPDATE raw_bars r SET gate_status = v.status, gate_run_id = %s, gate_reason = v.reason
               FROM unnest(%s::date[], %s::text[], %s::text[]) AS v(session, status, reason)
               WHERE r.session = v.session AND r.symbol = ANY(%s)
                 AND (r.gate_status <> v.status
                      OR (v.status = 'rejected' AND (r.gate_run_id IS DISTINCT FROM %s
                                                     OR r.gate_reason IS DISTINCT FROM v.reason)))""",
            (
                run_id,
                keys,
                ["passed" if verdicts[k][0] else "rejected" for k in keys],
                [verdicts[k][1] for k in keys],
                list(symbols),
                run_id,
            ),
        )
        return cursor.rowcount


def history_before(connection, symbols, before: pd.Timestamp, bars_per_symbol: int) -> pd.DataFrame:
    """The latest stored contract bars before a time, per symbol, oldest first (indicator warm-up)."""
    columns = ["symbol", "timestamp", "open", "high", "low", "close", "volume", "data_source"]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT {_select(columns, "b")}
                FROM unnest(%s::text[]) AS s(symbol)
                CROSS JOIN LATERAL (
                    SELECT * FROM dual_ticker_bars d
                    WHERE d.symbol = s.symbol AND d."timestamp" < %s
                    ORDER BY d."timestamp" DESC LIMIT %s
                ) b
                ORDER BY b.symbol, b."timestamp" """,
            (list(symbols), before.to_pydatetime(), bars_per_symbol),
        )
        return _frame(cursor, columns)


def replace_window(
    connection, rows: pd.DataFrame, symbols, start: pd.Timestamp, end: pd.Timestamp
) -> dict:
    """Makes the symbols' rows in [start, end) exactly `rows`, in the caller's transaction.

    Unchanged rows keep their created_at, so a re-run leaves the table identical.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE incoming_bars (LIKE dual_ticker_bars INCLUDING DEFAULTS) ON COMMIT DROP"
        )
        _copy(cursor, "incoming_bars", rows, CONTRACT_COLUMNS)
        assignments = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in _VALUE_COLUMNS)
        changed = " OR ".join(f'd."{c}" IS DISTINCT FROM EXCLUDED."{c}"' for c in _VALUE_COLUMNS)
        listed = ", ".join(f'"{c}"' for c in CONTRACT_COLUMNS)
        cursor.execute(
            f"""INSERT INTO dual_ticker_bars AS d ({listed})
                SELECT {listed} FROM incoming_bars
                ON CONFLICT (symbol, "timestamp") DO UPDATE SET {assignments}, created_at = now()
                WHERE {changed}"""
        )
        upserted = cursor.rowcount
        cursor.execute(
            """DELETE FROM dual_ticker_bars d
               WHERE d.symbol = ANY(%s) AND d."timestamp" >= %s AND d."timestamp" < %s
                 AND NOT EXISTS (SELECT 1 FROM incoming_bars i
                                 WHERE i.symbol = d.symbol AND i."timestamp" = d."timestamp")""",
            (list(symbols), start.to_pydatetime(), end.to_pydatetime()),
        )
        deleted = cursor.rowcount
        cursor.execute("DROP TABLE incoming_bars")
    return {"upserted": upserted, "deleted": deleted}


def window_count(connection, start: pd.Timestamp, end: pd.Timestamp) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            'SELECT count(*) FROM dual_ticker_bars WHERE "timestamp" >= %s AND "timestamp" < %s',
            (start.to_pydatetime(), end.to_pydatetime()),
        )
        return cursor.fetchone()[0]
