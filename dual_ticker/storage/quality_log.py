"""Durable record of failed quality rules, and running totals by reason (for metrics)."""

from __future__ import annotations


def record_failures(
    connection, failures, run_id: str | None, session, asset: str, source: str | None = None
) -> None:
    """Logs each failed outcome (with the feed whose delivery failed, when one did) and counts it
    under its reason, in the caller's transaction."""
    with connection.cursor() as cursor:
        for outcome in failures:
            cursor.execute(
                """INSERT INTO quality_failures (run_id, session, asset, check_name, reason, severity,
                                                 description, data_source)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s)""",
                (
                    run_id,
                    session,
                    asset,
                    outcome.check_name,
                    outcome.reason,
                    outcome.severity,
                    outcome.description[:2000],
                    source,
                ),
            )
            if outcome.severity == "ERROR":
                cursor.execute(
                    """INSERT INTO quality_failure_totals (reason, total) VALUES (%s, 1)
                       ON CONFLICT (reason) DO UPDATE SET total = quality_failure_totals.total + 1""",
                    (outcome.reason,),
                )


def failure_totals(connection) -> dict[str, int]:
    """{reason: ERROR failures counted so far}."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT reason, total FROM quality_failure_totals ORDER BY reason")
        return dict(cursor.fetchall())


def first_error(connection, session, run_id: str) -> str | None:
    """ "reason: description" of an ERROR failure the run recorded for the session, if any."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT reason || ': ' || description FROM quality_failures
               WHERE session = %s AND run_id = %s AND severity = 'ERROR' LIMIT 1""",
            (session, run_id),
        )
        row = cursor.fetchone()
    return row[0] if row else None
