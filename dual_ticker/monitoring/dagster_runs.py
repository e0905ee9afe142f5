"""What the sidecar reads of Dagster's own run storage when it shares the project's database: the
last successful run and the daemon's latest heartbeat, both in Dagster's wall-clock Unix time."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DagsterActivity:
    storage: bool = False  # Dagster's run storage lives in this database
    last_success_epoch: float | None = None
    daemon_heartbeat_epoch: float | None = None


def read_activity(cursor) -> DagsterActivity:
    """Two index probes at most, whatever the history; nothing when Dagster stores elsewhere."""
    cursor.execute(
        "SELECT to_regclass('runs') IS NOT NULL, to_regclass('daemon_heartbeats') IS NOT NULL"
    )
    has_runs, has_heartbeats = cursor.fetchone()
    last_success = beat = None
    if has_runs:
        # idx_run_range (status, update_timestamp): one index probe.
        cursor.execute(
            """SELECT end_time FROM runs WHERE status = 'SUCCESS'
               ORDER BY update_timestamp DESC LIMIT 1"""
        )
        row = cursor.fetchone()
        last_success = float(row[0]) if row and row[0] is not None else None
    if has_heartbeats:
        # One row per daemon type; the body carries the heartbeat's own epoch timestamp.
        cursor.execute("SELECT max((body::json ->> 'timestamp')::float) FROM daemon_heartbeats")
        (value,) = cursor.fetchone()
        beat = float(value) if value is not None else None
    return DagsterActivity(bool(has_runs), last_success, beat)
