"""Alerting sensors: failed and blocked runs (a run-failure sensor) and failed WARN checks (a sensor
over ASSET_CHECK_EVALUATION event records with a cursor). Both store alerts in `alerts`, log them
and post what is pending to the webhook of the `alerts` resource."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg

from dual_ticker.clock import Clock
from dual_ticker.monitoring.alerts import Delivery, deliver_pending
from dual_ticker.monitoring.job_alerts import alert_failed_jobs
from dual_ticker.orchestration.resources import DatabaseResource
from dual_ticker.orchestration.sensors.run_alerts import (
    check_result,
    classify_run_failure,
    record_check_warning,
    record_run_failure,
)

EVALUATIONS_PER_TICK = 500


class AlertResource(dg.ConfigurableResource):
    """Where alerts go besides the log and the `alerts` table: a Slack-compatible webhook
    (DUAL_TICKER_ALERT_WEBHOOK through dg.EnvVar; None: log and table only)."""

    webhook_url: str | None = None
    attempts: int = 3
    backoff_seconds: float = 0.5
    timeout_seconds: float = 5.0

    def deliver(self, connection_url: str) -> int:
        """Posts the pending alerts; returns how many were delivered."""
        delivery = Delivery(self.attempts, self.backoff_seconds, self.timeout_seconds)
        return deliver_pending(connection_url, self.webhook_url, delivery)


@dg.run_failure_sensor(
    name="run_failure_alert_sensor",
    description="One alert per failed run; for a blocked run it names the failed check and why.",
    default_status=dg.DefaultSensorStatus.RUNNING,
    # Runs started from the shell (dagster asset materialize) carry no code-location origin.
    monitor_all_code_locations=True,
)
def run_failure_alert_sensor(
    context: dg.RunFailureSensorContext, database: DatabaseResource, alerts: AlertResource
) -> None:
    failure = classify_run_failure(context.instance, context.dagster_run)
    with database.transaction() as connection:
        created = record_run_failure(connection, context.instance, failure)
    kind = "blocked" if failure.blocked else "failed"
    context.log.info(
        f"run {failure.run_id} {kind}: {'alert raised' if created else 'already alerted'}"
    )
    alerts.deliver(database.connection_url())


@dg.sensor(
    name="check_warning_alert_sensor",
    description="Alerts on failed WARN checks, once per session and check until the check passes.",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def check_warning_alert_sensor(
    context: dg.SensorEvaluationContext, database: DatabaseResource, alerts: AlertResource
):
    storage = context.instance.event_log_storage
    if context.cursor is None:  # a first start alerts on what happens from now on, not on history
        context.update_cursor(str(storage.get_maximum_record_id() or 0))
        return dg.SkipReason("started: watching check evaluations from the latest event on")
    entries = storage.get_logs_for_all_runs_by_log_id(
        after_cursor=int(context.cursor),
        dagster_event_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION,
        limit=EVALUATIONS_PER_TICK,
    )
    raised = 0
    if entries:
        sessions: dict[str, str | None] = {}
        with database.transaction() as connection:
            for _, entry in sorted(entries.items()):
                if entry.run_id not in sessions:
                    run = context.instance.get_run_by_id(entry.run_id)
                    sessions[entry.run_id] = run.tags.get("dagster/partition") if run else None
                result = check_result(entry, sessions[entry.run_id])
                at = datetime.fromtimestamp(entry.timestamp, UTC)
                raised += record_check_warning(connection, result, entry.run_id, at)
        context.update_cursor(str(max(entries)))
    delivered = alerts.deliver(
        database.connection_url()
    )  # also retries alerts pending from earlier
    if not entries:
        return dg.SkipReason(f"no new check evaluations; {delivered} pending alert(s) delivered")
    context.log.info(
        f"{len(entries)} check evaluation(s), {raised} warning alert(s), {delivered} delivered"
    )
    return None


@dg.sensor(
    name="timescaledb_job_alert_sensor",
    description="A WARN alert when a TimescaleDB background job fails, once until it succeeds.",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def timescaledb_job_alert_sensor(
    context: dg.SensorEvaluationContext,
    database: DatabaseResource,
    alerts: AlertResource,
    clock: dg.ResourceParam[Clock],
):
    with database.transaction() as connection:
        raised = alert_failed_jobs(connection, clock.now().to_pydatetime())
    delivered = alerts.deliver(database.connection_url())
    return dg.SkipReason(f"{raised} TimescaleDB job alert(s), {delivered} delivered")


ALERT_SENSORS = [run_failure_alert_sensor, check_warning_alert_sensor, timescaledb_job_alert_sensor]
