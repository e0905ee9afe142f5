"""Durable feed health: request outcomes and latency, ingested-bar totals, failover state."""

from __future__ import annotations

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, float("inf"))


def record_request(
    connection,
    feed: str,
    symbol: str | None,
    outcome: str,
    latency_seconds: float,
    bars: int = 0,
    detail: str | None = None,
    run_id: str | None = None,
) -> None:
    """Logs one request and adds it to the totals and the latency histogram (caller's transaction)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO feed_requests (feed, symbol, run_id, outcome, latency_seconds, bars, detail)
               VALUES (%s, %s, %s, %s, %s, %s, %s)""",
            (feed, symbol, run_id, outcome, latency_seconds, bars, (detail or "")[:500] or None),
        )
        cursor.execute(
            """INSERT INTO feed_request_totals (feed, outcome, total, latency_sum) VALUES (%s, %s, 1, %s)
               ON CONFLICT (feed, outcome) DO UPDATE SET total = feed_request_totals.total + 1,
                   latency_sum = feed_request_totals.latency_sum + EXCLUDED.latency_sum""",
            (feed, outcome, latency_seconds),
        )
        cursor.execute(  # every cumulative bucket the latency falls in, in one statement
            """INSERT INTO feed_latency_buckets (feed, le, total)
               SELECT %s, le, 1 FROM unnest(%s::double precision[]) AS le
               ON CONFLICT (feed, le) DO UPDATE SET total = feed_latency_buckets.total + 1""",
            (feed, [le for le in LATENCY_BUCKETS if latency_seconds <= le]),
        )


def record_requests(connection, attempts, run_id: str | None) -> None:
    """Records the attempts fetch_with_failover reported: (feed, symbol, outcome, latency, bars, detail)."""
    for feed, symbol, outcome, latency, count, detail in attempts:
        record_request(connection, feed, symbol, outcome, latency, count, detail, run_id)


def record_ingested(connection, counts: dict[tuple[str, str], int]) -> None:
    """Adds {(symbol, source): bars} to the running totals of bars ingested."""
    with connection.cursor() as cursor:
        for (symbol, source), count in counts.items():
            cursor.execute(
                """INSERT INTO bars_ingested_totals (symbol, source, total) VALUES (%s, %s, %s)
                   ON CONFLICT (symbol, source) DO UPDATE SET total = bars_ingested_totals.total + EXCLUDED.total""",
                (symbol, source, int(count)),
            )


def active_feed(connection, default: str) -> str:
    """The feed runs should use first: the sensor's choice, or the configured primary."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT active_feed FROM feed_state WHERE singleton")
        row = cursor.fetchone()
    return row[0] if row else default


def switches(connection) -> int:
    """How many times the failover sensor switched the active feed (0 before its first tick)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT switches FROM feed_state WHERE singleton")
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def ingested_totals(connection) -> dict[tuple[str, str], int]:
    """{(symbol, source): bars ingested so far}."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT symbol, source, total FROM bars_ingested_totals")
        return {(symbol, source): int(n) for symbol, source, n in cursor.fetchall()}


def request_totals(connection) -> dict[tuple[str, str], tuple[int, float]]:
    """{(feed, outcome): (requests, seconds spent in them)}."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT feed, outcome, total, latency_sum FROM feed_request_totals")
        return {(feed, outcome): (int(n), float(s)) for feed, outcome, n, s in cursor.fetchall()}


def latency_counts(connection) -> dict[str, dict[float, int]]:
    """{feed: {bucket upper bound: requests at or below it}}; buckets never reached are absent."""
    counts: dict[str, dict[float, int]] = {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT feed, le, total FROM feed_latency_buckets")
        for feed, le, n in cursor.fetchall():
            counts.setdefault(feed, {})[float(le)] = int(n)
    return counts


def mark_gate_failed(connection, feed: str, symbols, run_id: str | None) -> int:
    """Marks the run's latest answered request of `feed` per symbol as a delivery the gate
    rejected: for the failover sensor, bad data counts like a failed request."""
    with connection.cursor() as cursor:
        cursor.execute(
            """UPDATE feed_requests SET gate_failed = TRUE
               WHERE id IN (SELECT max(id) FROM feed_requests
                            WHERE feed = %s AND symbol = ANY(%s) AND outcome = 'ok'
                              AND run_id IS NOT DISTINCT FROM %s
                            GROUP BY symbol)""",
            (feed, list(symbols), run_id),
        )
        return cursor.rowcount


def recent_outcomes(connection, feed: str, limit: int) -> list[str]:
    """The feed's latest request outcomes, newest first; a delivery the gate rejected is
    'gate_failed'."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT CASE WHEN gate_failed THEN 'gate_failed' ELSE outcome END FROM feed_requests
               WHERE feed = %s ORDER BY requested_at DESC, id DESC LIMIT %s""",
            (feed, limit),
        )
        return [row[0] for row in cursor.fetchall()]


def load_state(connection, primary: str):
    """The failover state (locked for this transaction); a fresh one on the primary if none."""
    from dual_ticker.feeds.feed_switch import FeedState

    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO feed_state (active_feed) VALUES (%s) ON CONFLICT DO NOTHING", (primary,)
        )
        cursor.execute("""SELECT active_feed, consecutive_failures, healthy_probes, switches, last_probe_at
                          FROM feed_state WHERE singleton FOR UPDATE""")
        active, failures, probes, switches, last_probe = cursor.fetchone()
    import pandas as pd

    return FeedState(
        active, failures, probes, switches, pd.Timestamp(last_probe) if last_probe else None
    )


def save_state(connection, state) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            """UPDATE feed_state SET active_feed = %s, consecutive_failures = %s, healthy_probes = %s,
                   switches = %s, last_probe_at = %s,
                   switched_at = CASE WHEN active_feed <> %s THEN now() ELSE switched_at END,
                   updated_at = now()
               WHERE singleton""",
            (
                state.active,
                state.consecutive_failures,
                state.healthy_probes,
                state.switches,
                state.last_probe_at.to_pydatetime() if state.last_probe_at is not None else None,
                state.active,
            ),
        )
