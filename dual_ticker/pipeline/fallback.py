"""Gate-driven fallback: a session whose delivery fails a blocking raw check is asked of the next
feed for the same window and gated again in its own transaction. The delivery that passes lands
and the other is kept in quarantine; when both fail, the first lands, blocked, as it would with no
fallback. Every delivery the gate rejects counts against its feed's health."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pandas as pd

from dual_ticker.feeds.base import IntradayFeed
from dual_ticker.pipeline import steps
from dual_ticker.quality import quarantine
from dual_ticker.quality.gate import GateReport
from dual_ticker.quality.rules import Outcome, Window
from dual_ticker.settings import Settings
from dual_ticker.storage import feed_health, raw_bars
from dual_ticker.storage.database import rollback_to, savepoint

PASSED = "passed"
NOTHING = "delivered nothing"
MISSING = "check_raw_bars_missing_data"


@dataclass
class Landing:
    """What a chunk landed and its gate report; for the sessions whose first delivery failed the
    gate, the feed that served them instead and each feed's verdict ({session: {feed: verdict}})."""

    clean: pd.DataFrame
    report: GateReport
    served_by: dict[str, str] = field(default_factory=dict)
    verdicts_by_source: dict[str, dict[str, str]] = field(default_factory=dict)


def land_with_fallback(
    transaction,
    delivery: pd.DataFrame,
    windows: dict[str, Window],
    settings: Settings,
    source_order: list[str],
    clients: Sequence[IntradayFeed],
    run_id: str | None,
    fetched_at,
    live: bool,
    warn: Callable[[str], None] = lambda message: None,
) -> Landing:
    """Lands and gates a chunk's delivery. Sessions it fails that another feed may serve are held
    back, fetched for the same windows from the feeds that did not deliver them, and gated again."""
    gate = (settings, source_order, run_id, fetched_at, live)
    with transaction() as connection:
        savepoint(connection, "landing")
        clean, report = steps.land_and_gate(connection, delivery, windows, *gate)
        held = _held(report, delivery, clients)
        if held:  # the held sessions' delivery must not be what lands: the others land alone
            first_report = GateReport(report.asset, {k: report.by_session[k] for k in held})
            rollback_to(connection, "landing")
            kept = {key: window for key, window in windows.items() if key not in held}
            clean, report = _land(connection, _of(delivery, kept), kept, gate)
        _count_rejected(connection, report, clean, run_id)
    if not held:
        return Landing(clean, report)
    retry = {key: windows[key] for key in held}
    others = [client for client in clients if client.name not in set(held.values())]
    second = steps.fetch_missing(
        transaction, retry, settings.data.symbols, others, run_id, warn, give_up=True
    )
    with transaction() as connection:
        retried = _land_retry(
            connection, _of(delivery, retry), first_report, second, retry, others[0].name, gate
        )
        _count_rejected(connection, retried.report, retried.clean, run_id)
    return Landing(
        pd.concat([clean, retried.clean], ignore_index=True),
        report.merged_with(retried.report),
        retried.served_by,
        retried.verdicts_by_source,
    )


def _land_retry(connection, first, first_report, second, retry, fallback, gate) -> Landing:
    """The held sessions: the second delivery where it passes (and brings every symbol the first
    did), the first one, blocked, elsewhere; the delivery not landed goes to quarantine."""
    savepoint(connection, "retry")
    _supersede(connection, first, first_report, fallback)
    clean, report = steps.land_and_gate(connection, second, retry, *gate)
    second_report = report
    gaps = {key: _uncovered(_of(second, [key]), _of(first, [key]), retry[key]) for key in retry}
    served = {
        key: fallback
        for key, (passed, _) in report.verdicts().items()
        if passed and gaps[key] is None
    }
    if len(served) < len(retry):
        rollback_to(connection, "retry")
        _supersede(connection, _of(first, served), first_report, fallback)
        unserved = [key for key in retry if key not in served]
        landed = pd.concat([_of(second, served), _of(first, unserved)], ignore_index=True)
        clean, report = steps.land_and_gate(connection, landed, retry, *gate)
    reports, verdicts, refusals = {}, {}, {}
    for key in retry:
        first_source = steps.delivered_by(_of(first, [key]))[key]
        reports[key] = {first_source: first_report}
        verdicts[key] = {first_source: _verdict(first_report, key), fallback: NOTHING}
        refused = None
        if not _of(second, [key]).empty:
            reports[key][fallback] = second_report
            verdicts[key][fallback] = _verdict(second_report, key)
            if key not in served and second_report.verdicts()[key][0]:
                refused = f"refused: {fallback}'s delivery {gaps[key]}"
                verdicts[key][fallback] = refused
        if key in served:
            _refuse(connection, _of(first, [key]), first_report, f"{fallback} served it", gate)
        else:
            why = "both failed" if refused is None else refused
            _refuse(connection, _of(second, [key]), second_report, why, gate)
        refusals[key] = {fallback: refused} if refused else {}
    return Landing(clean, _annotated(report, reports, refusals), served, verdicts)


def _supersede(connection, first: pd.DataFrame, report: GateReport, fallback: str) -> None:
    """Rejected rows stored earlier at the minutes the refused delivery sent again would have been
    replaced by it: they go to quarantine rather than keep blocking the sessions."""
    readable = first[first["timestamp"].notna()]
    for key, rows in readable.groupby("session"):
        blocking = [outcome for outcome in report.by_session[key] if outcome.blocks]
        why = f"stored, rejected; its feed sent the minute again, refused, and {fallback} served it"
        raw_bars.quarantine_rejected(
            connection,
            steps.delivered_by(rows)[key],
            rows[["symbol", "timestamp"]],
            blocking[0].check_name,
            why,
        )


def _land(connection, delivery, windows, gate) -> tuple[pd.DataFrame, GateReport]:
    if not windows:
        return delivery.iloc[0:0], GateReport("raw_bars", {})
    return steps.land_and_gate(connection, delivery, windows, *gate)


def _refuse(connection, rows: pd.DataFrame, report: GateReport, why: str, gate) -> None:
    """Keeps a session's delivery that did not land in quarantine, records its failures under
    its feed, and counts it against the feed's health."""
    if rows.empty:
        return
    _, _, run_id, fetched_at, _ = gate
    key = rows["session"].iloc[0]
    source = steps.delivered_by(rows)[key]
    blocking = [outcome for outcome in report.by_session[key] if outcome.blocks]
    if not blocking:  # it passed, but lacks symbols or minutes the first delivery brought
        text = f"not landed ({why})"
        kept = quarantine.refused_rows(rows, MISSING, text)
        raw_bars.quarantine(connection, kept, run_id, fetched_at)
        return
    text = f"not landed ({why}); the gate rejected {source}'s delivery: {report.verdicts()[key][1]}"
    kept = quarantine.refused_rows(rows, blocking[0].check_name, text[:2000])
    raw_bars.quarantine(connection, kept, run_id, fetched_at)
    steps.record_report(
        connection, GateReport(report.asset, {key: report.by_session[key]}), run_id, {key: source}
    )
    feed_health.mark_gate_failed(connection, source, rows["symbol"].unique(), run_id)


def _count_rejected(connection, report: GateReport, landed: pd.DataFrame, run_id) -> None:
    """Each landed delivery the gate rejected counts as a failure of the feed that sent it."""
    sources = steps.delivered_by(landed)
    for key, (passed, _) in report.verdicts().items():
        if not passed and key in sources:
            symbols = landed.loc[landed["session"] == key, "symbol"].unique()
            feed_health.mark_gate_failed(connection, sources[key], symbols, run_id)


def _held(report: GateReport, delivery: pd.DataFrame, clients) -> dict[str, str]:
    """{session: feed} for the blocked sessions one feed delivered and another feed may serve."""
    names = {client.name for client in clients}
    sources = steps.delivered_by(delivery)
    return {
        key: sources[key]
        for key, (passed, _) in report.verdicts().items()
        if not passed and key in sources and names - {sources[key]}
    }


def _of(delivery: pd.DataFrame, sessions) -> pd.DataFrame:
    """The delivery's rows of these sessions."""
    if delivery.empty:
        return delivery
    return delivery[delivery["session"].isin(list(sessions))].reset_index(drop=True)


def _uncovered(second: pd.DataFrame, first: pd.DataFrame, window: Window) -> str | None:
    """What of the first delivery the second lacks: a symbol, or a regular minute (on the grid,
    complete by as_of) of a symbol; None when it brings all of them. Accepting it would lose
    minutes the primary delivered."""
    if second.empty:
        return NOTHING
    lacking = sorted(set(first["symbol"]) - set(second["symbol"]))
    if lacking:
        return f"lacks {', '.join(lacking)}, which the first delivery had"
    stamps = first["timestamp"]
    regular = first[
        (stamps == stamps.dt.floor("min"))
        & (stamps >= window.opened)
        & (stamps < window.closed)
        & (stamps + pd.Timedelta(minutes=1) <= window.as_of)
    ]
    wanted = pd.MultiIndex.from_frame(regular[["symbol", "timestamp"]])
    missing = wanted.difference(pd.MultiIndex.from_frame(second[["symbol", "timestamp"]]))
    if len(missing):
        symbol, start = missing[0]
        return (
            f"lacks {len(missing)} minute(s) the first delivery had (the first: {symbol} {start})"
        )
    return None


def _verdict(report: GateReport, key: str) -> str:
    passed, why = report.verdicts()[key]
    return PASSED if passed else f"rejected: {why}"


def _annotated(
    report: GateReport,
    reports: dict[str, dict[str, GateReport]],
    refusals: dict[str, dict[str, str]],
) -> GateReport:
    """The report with each held session's checks carrying every feed's outcome of the check; a
    delivery that passed but was refused for what it lacks says why on the missing-data check."""
    by_session = {}
    for key, outcomes in report.by_session.items():
        by_session[key] = [
            Outcome(
                o.check_name,
                o.reason,
                o.passed,
                o.severity,
                o.description,
                {
                    **o.metadata,
                    "verdicts_by_source": _by_check(reports[key], key, o.check_name)
                    | (refusals[key] if o.check_name == MISSING else {}),
                },
            )
            for o in outcomes
        ]
    return GateReport(report.asset, by_session)


def _by_check(reports: dict[str, GateReport], key: str, check: str) -> dict[str, str]:
    return {
        source: PASSED if outcome.passed else f"failed: {outcome.description}"
        for source, report in reports.items()
        for outcome in report.by_session[key]
        if outcome.check_name == check
    }
