"""A TimescaleDB background job (compression, retention, an aggregate's refresh) whose last run
failed raises one WARN alert, once per failure episode: the episode closes when the job next
succeeds, so a job failing on every schedule does not alert on every run."""

from __future__ import annotations

from datetime import datetime

from dual_ticker.monitoring.alerts import raise_alert
from dual_ticker.storage import alert_log, timescale

SCOPE = "timescaledb_job"


def alert_failed_jobs(connection, at: datetime) -> int:
    """Opens or closes each job's failure episode; returns how many alerts were stored."""
    raised = 0
    for job in timescale.jobs(connection):
        key = f"job:{job.job_id}"
        if job.last_run_status != "Failed":
            if job.last_run_status == "Success":
                alert_log.close_episode(connection, SCOPE, "-", key)
            continue
        if not alert_log.start_episode_once(connection, SCOPE, "-", key, "-", at):
            continue
        message = (
            f"TimescaleDB job {job.job_id} ({job.proc_name} on {job.hypertable or 'no table'}) "
            f"failed its last run ({job.total_failures} failure(s) in all); read "
            "timescaledb_information.job_errors and docs/OPERATIONS.md, TimescaleDB policies"
        )
        raised += raise_alert(
            connection, SCOPE, f"{SCOPE}:{job.job_id}:{job.total_failures}", "WARN", message
        )
    return raised
