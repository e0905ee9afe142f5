"""What a run blocked by malformed rows left behind: its quarantined rows, the failure counters,
and the later tables (which must hold nothing of the session)."""

from __future__ import annotations

import psycopg2

CHECK_REASONS = {
    "check_raw_bars_ohlc": "ohlc_violation",
    "check_raw_bars_volume": "volume",
    "check_raw_bars_timestamps": "timestamp",
    "check_raw_bars_price_jump": "price_jump",
}


def _rows(url: str, query: str, params=()) -> list[tuple]:
    connection = psycopg2.connect(url)
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute(query, params)
            return cursor.fetchall()
    finally:
        connection.close()


def quarantined(url: str) -> list[dict]:
    """Every quarantined row, oldest first, as dicts of its columns."""
    columns = ["run_id", "session", "symbol", "data_source", "timestamp", "delivered"]
    columns += ["check_name", "reason"]
    rows = _rows(
        url,
        """SELECT run_id, session::text, symbol, data_source, "timestamp", delivered, check_name,
                   reason FROM quarantined_bars ORDER BY id""",
    )
    return [dict(zip(columns, row, strict=True)) for row in rows]


def failure_total(url: str, reason: str) -> int:
    return _rows(url, "SELECT total FROM quality_failure_totals WHERE reason = %s", (reason,))[0][0]


def later_rows(url: str, session: str) -> dict[str, int]:
    """Rows of the session past the gate: raw rows passed, staged features, contract rows."""
    counts = {}
    for name, query in {
        "passed_raw_bars": "SELECT count(*) FROM raw_bars WHERE session = %s AND gate_status = 'passed'",
        "staged_features": "SELECT count(*) FROM staged_features",
        "dual_ticker_bars": """SELECT count(*) FROM dual_ticker_bars
                               WHERE ("timestamp" AT TIME ZONE 'America/New_York')::date = %s""",
    }.items():
        counts[name] = _rows(url, query, (session,) if "%s" in query else ())[0][0]
    return counts
