"""What a failed run or a check evaluation means as an alert, and when it is news.

A run blocked by a failed blocking check raises one `blocked_run` alert that names the check and
why; any other failed run raises one `failed_run` alert. A session that stays blocked on the same
check does not alert again: the (session, check) pair opens an episode in `alert_episodes`, closed
by a successful run of that session; a later block after such a pass alerts again. Failed WARN
checks work the same way per (session, check), closed when the check passes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import dagster as dg

from dual_ticker.monitoring.alerts import raise_alert
from dual_ticker.storage import alert_log

PARTITION_TAG = "dagster/partition"
CHECK_FAILED_ERROR = "DagsterAssetCheckFailedError"
WRAPPER_ERRORS = {"DagsterExecutionStepExecutionError", "DagsterUserCodeExecutionError"}
MAX_DESCRIPTION = 400


@dataclass(frozen=True)
class CheckResult:
    asset: str
    check: str
    session: str | None
    passed: bool
    severity: str
    description: str

    @property
    def key(self) -> str:
        return f"{self.asset}/{self.check}"


@dataclass(frozen=True)
class RunFailure:
    run_id: str
    job: str
    session: str | None
    ended_at: datetime
    failed_checks: list[CheckResult]  # failed ERROR checks: the run was blocked by these
    error: str | None  # the first step failure (or the run failure) message, first line
    check_failed_error: bool = False  # a step failed with DagsterAssetCheckFailedError
    root_run_id: str | None = None  # a retry's original run: one failure, one alert

    @property
    def blocked(self) -> bool:
        return bool(self.failed_checks) or self.check_failed_error


def check_result(entry, run_session: str | None) -> CheckResult:
    """One ASSET_CHECK_EVALUATION event log entry; the session from the check's metadata or run."""
    evaluation = entry.dagster_event.event_specific_data
    session = evaluation.metadata.get("session")
    return CheckResult(
        asset="/".join(evaluation.asset_key.path),
        check=evaluation.check_name,
        session=str(session.value)
        if session is not None
        else (evaluation.partition or run_session),
        passed=evaluation.passed,
        severity=evaluation.severity.value,
        description=(evaluation.description or "no description")[:MAX_DESCRIPTION],
    )


def classify_run_failure(instance: dg.DagsterInstance, run: dg.DagsterRun) -> RunFailure:
    """Reads the failed run's event log: the blocking checks that failed, else the error."""
    session = run.tags.get(PARTITION_TAG)
    events = dg.DagsterEventType
    records = instance.get_records_for_run(
        run.run_id, of_type={events.ASSET_CHECK_EVALUATION, events.STEP_FAILURE, events.RUN_FAILURE}
    ).records
    failed_checks, errors, check_failed_error = [], [], False
    for record in records:
        event = record.event_log_entry.dagster_event
        if event.event_type == events.ASSET_CHECK_EVALUATION:
            result = check_result(record.event_log_entry, session)
            if (
                not result.passed
                and result.severity == "ERROR"
                and event.event_specific_data.blocking is not False
            ):
                failed_checks.append(result)
        elif event.event_type == events.STEP_FAILURE:
            error = event.event_specific_data.error
            check_failed_error |= bool(error and error.cls_name == CHECK_FAILED_ERROR)
            errors.append(f"{_first_line(error)} (step {event.step_key})")
        elif not errors and event.message:
            errors.append(event.message.strip().splitlines()[0])
    run_record = instance.get_run_record_by_id(run.run_id)
    ended = run_record.end_time if run_record and run_record.end_time else None
    if ended is None:  # not recorded yet: the latest event of the run
        ended = max(
            (r.event_log_entry.timestamp for r in records),
            default=run_record.create_timestamp.timestamp(),
        )
    if not session and failed_checks:
        session = failed_checks[0].session
    return RunFailure(
        run.run_id,
        run.job_name,
        session,
        datetime.fromtimestamp(ended, UTC),
        failed_checks,
        errors[0] if errors else None,
        check_failed_error,
        run.tags.get("dagster/root_run_id") or run.run_id,
    )


def _first_line(error) -> str:
    """The user's error, not Dagster's wrapper around it ("Error occurred while executing op")."""
    while error is not None and error.cls_name in WRAPPER_ERRORS and error.cause is not None:
        error = error.cause
    text = error.message.strip() if error is not None and error.message else ""
    return text.splitlines()[0] if text else "step failed"


def session_passed_between(
    instance: dg.DagsterInstance, session: str, after: datetime, before: datetime
) -> bool:
    """Whether a run of the session succeeded (every blocking check passed) in the interval."""
    found = instance.get_run_records(
        dg.RunsFilter(
            tags={PARTITION_TAG: session},
            statuses=[dg.DagsterRunStatus.SUCCESS],
            updated_after=after,
            updated_before=before,
        ),
        limit=1,
    )
    return bool(found)


def record_run_failure(connection, instance: dg.DagsterInstance, failure: RunFailure) -> bool:
    """Raises the run's alert when it is news (caller's transaction); True when one was stored."""
    if not failure.blocked:
        where = f", session {failure.session}" if failure.session else ""
        message = (
            f"Run {failure.run_id[:8]} (job {failure.job}{where}) failed: "
            f"{failure.error or 'no error recorded'}. "
            "Read the run's log in the Dagster UI and re-run it once fixed."
        )
        return raise_alert(
            connection,
            "failed_run",
            f"run:{failure.root_run_id or failure.run_id}",
            "ERROR",
            message,
            failure.run_id,
        )
    news = [
        c
        for c in failure.failed_checks
        if _opens_episode(connection, instance, "blocked_run", c, failure)
    ]
    if failure.failed_checks and not news:
        return False  # the session is still blocked on the same check(s): alerted already
    named = "; ".join(f"{c.key} failed: {c.description}" for c in failure.failed_checks) or (
        failure.error or "a blocking check failed"
    )
    message = (
        f"Session {failure.session or 'unknown'} blocked by the quality gate "
        f"(run {failure.run_id[:8]}): "
        f"{named}. Nothing downstream was written; fix the data and materialize the session again."
    )
    return raise_alert(
        connection, "blocked_run", f"run:{failure.run_id}", "ERROR", message, failure.run_id
    )


def _opens_episode(
    connection, instance, scope: str, check: CheckResult, failure: RunFailure
) -> bool:
    session = check.session or failure.session or f"run:{failure.run_id}"
    episode = alert_log.open_episode(connection, scope, session, check.key)
    if episode is not None:
        run_id, opened_at = episode
        if run_id == failure.run_id:
            return True  # this run opened it: evaluated again, the alert key dedupes
        if opened_at >= failure.ended_at or not session_passed_between(
            instance, session, opened_at.astimezone(UTC), failure.ended_at
        ):
            return False
    alert_log.start_episode(connection, scope, session, check.key, failure.run_id, failure.ended_at)
    return True


def record_check_warning(connection, result: CheckResult, run_id: str, at: datetime) -> bool:
    """Opens or closes the (session, check) warning episode; True when a new alert was stored."""
    session = result.session or f"run:{run_id}"
    if result.passed:
        alert_log.close_episode(connection, "check_warning", session, result.key)
        return False
    if result.severity != "WARN":
        return False  # a failed ERROR check blocks the run: the run-failure sensor reports it
    if not alert_log.start_episode_once(
        connection, "check_warning", session, result.key, run_id, at
    ):
        return False
    message = (
        f"Session {session}: WARN check {result.key} failed (run {run_id[:8]}): "
        f"{result.description}. "
        "The run was not blocked; watch the feed and the data."
    )
    return raise_alert(
        connection,
        "check_warning",
        f"warning:{session}:{result.key}:{run_id}",
        "WARN",
        message,
        run_id,
    )
