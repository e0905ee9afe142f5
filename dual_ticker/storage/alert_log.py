"""alerts and alert_episodes: all of their SQL. An alert is stored once per dedupe key and
delivered later; an episode remembers that a (scope, session, check) already alerted."""

from __future__ import annotations

from datetime import datetime, timedelta


def insert(
    connection, dedupe_key: str, kind: str, severity: str, message: str, run_id: str | None
) -> bool:
    """Stores the alert unless one with this key exists (caller's transaction); True when new."""
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO alerts (dedupe_key, kind, severity, message, run_id)
               VALUES (%s, %s, %s, %s, %s)
               ON CONFLICT (dedupe_key) DO NOTHING RETURNING id""",
            (dedupe_key, kind, severity, message, run_id),
        )
        return cursor.fetchone() is not None


def claim_next_undelivered(
    connection, max_attempts: int, max_age: timedelta
) -> tuple[int, str, str, str] | None:
    """(id, kind, severity, message) of the oldest deliverable alert, locked for this transaction;
    rows another transaction holds are skipped, so two deliverers never post the same alert."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT id, kind, severity, message FROM alerts
               WHERE delivered_at IS NULL AND attempts < %s AND created_at > now() - %s
               ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED""",
            (max_attempts, max_age),
        )
        return cursor.fetchone()


def record_delivery(
    connection, alert_id: int, attempts: int, delivered: bool, error: str | None
) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            """UPDATE alerts SET attempts = attempts + %s,
                   last_error = COALESCE(%s, last_error),
                   delivered_at = CASE WHEN %s THEN now() ELSE NULL END
               WHERE id = %s""",
            (attempts, error, delivered, alert_id),
        )


def open_episode(
    connection, scope: str, session: str, check_key: str
) -> tuple[str, datetime] | None:
    """(run id, opened at) of the episode open for (scope, session, check), locked; None if none."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT run_id, opened_at FROM alert_episodes
               WHERE scope = %s AND session = %s AND check_key = %s FOR UPDATE""",
            (scope, session, check_key),
        )
        return cursor.fetchone()


def start_episode(
    connection, scope: str, session: str, check_key: str, run_id: str, at: datetime
) -> None:
    """Opens the episode, or restarts it with this run when one was open."""
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO alert_episodes (scope, session, check_key, run_id, opened_at)
               VALUES (%s, %s, %s, %s, %s)
               ON CONFLICT (scope, session, check_key)
               DO UPDATE SET run_id = EXCLUDED.run_id, opened_at = EXCLUDED.opened_at""",
            (scope, session, check_key, run_id, at),
        )


def start_episode_once(
    connection, scope: str, session: str, check_key: str, run_id: str, at: datetime
) -> bool:
    """Opens the episode unless one is open; True when this call opened it."""
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO alert_episodes (scope, session, check_key, run_id, opened_at)
               VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING run_id""",
            (scope, session, check_key, run_id, at),
        )
        return cursor.fetchone() is not None


def close_episode(connection, scope: str, session: str, check_key: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM alert_episodes WHERE scope = %s AND session = %s AND check_key = %s",
            (scope, session, check_key),
        )
