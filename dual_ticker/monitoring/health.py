"""Health per component and overall, from one snapshot of durable state.

Rules (docs/MONITORING.md): the database down makes the whole unhealthy (HTTP 503). Degraded: the
feed failed over or its last requests all failed; data stale for the calendar; the latest gated
session blocked; a Dagster daemon whose heartbeat existed and went stale. "unknown" (nothing to
judge yet: no requests, no bars while the market is closed, no session gated, no daemon ever seen)
never degrades, so a freshly started offline system is healthy.

One clock: Dagster stamps runs and heartbeats in wall time; they are mapped onto the sidecar's
clock (the replay clock in dev) before they are judged or shown, so nothing mixes the two.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from dual_ticker.clock import Clock
from dual_ticker.monitoring.freshness import Freshness, market_open
from dual_ticker.monitoring.snapshot import Snapshot

HEALTHY, DEGRADED, UNHEALTHY, UNKNOWN = "healthy", "degraded", "unhealthy", "unknown"
COMPONENTS = (
    "database",
    "feeds",
    "data_freshness",
    "quality_gate",
    "dagster_daemon",
    "timescaledb",
)
DAEMON_STALE_SECONDS = 180  # the daemon beats every 30 s


@dataclass(frozen=True)
class Health:
    status: str
    components: dict[str, str]
    details: dict[str, str]

    @property
    def http_status(self) -> int:
        return 503 if self.status == UNHEALTHY else 200

    def as_json(self, now: pd.Timestamp) -> dict:
        return {
            "status": self.status,
            "components": self.components,
            "details": self.details,
            "checked_at": now.isoformat(),
        }


def assess(
    now: pd.Timestamp,
    snapshot: Snapshot | None,
    freshness: list[Freshness],
    primary: str,
    database_error: str | None = None,
    *,
    clock: Clock,
) -> Health:
    if snapshot is None:
        components = {name: UNKNOWN for name in COMPONENTS} | {"database": UNHEALTHY}
        return Health(UNHEALTHY, components, {"database": database_error or "unreachable"})
    judged = {
        "database": (HEALTHY, "answering"),
        "feeds": _feeds(snapshot, primary),
        "data_freshness": _freshness(now, freshness),
        "quality_gate": _gate(snapshot),
        "dagster_daemon": _daemon(now, snapshot, clock),
        "timescaledb": _timescaledb(snapshot),
    }
    components = {name: status for name, (status, _) in judged.items()}
    statuses = set(components.values())
    overall = UNHEALTHY if UNHEALTHY in statuses else DEGRADED if DEGRADED in statuses else HEALTHY
    return Health(overall, components, {name: detail for name, (_, detail) in judged.items()})


def _feeds(snapshot: Snapshot, primary: str) -> tuple[str, str]:
    active = snapshot.active_feed
    if active != primary:
        return DEGRADED, f"failed over: {active} is active, {primary} is the primary"
    outcomes = snapshot.recent_outcomes
    if not outcomes:
        return UNKNOWN, f"{active} active, no requests yet"
    if all(outcome != "ok" for outcome in outcomes):
        return DEGRADED, f"{active}: last {len(outcomes)} request(s) failed ({', '.join(outcomes)})"
    return HEALTHY, f"{active} active, {snapshot.feed_switches} switch(es)"


def _freshness(now: pd.Timestamp, freshness: list[Freshness]) -> tuple[str, str]:
    is_open = market_open(now)
    if all(f.latest_end is None for f in freshness):
        if is_open:
            return DEGRADED, "no bars stored while the market is open"
        return UNKNOWN, "no bars stored yet"
    stale = [f for f in freshness if not f.fresh]
    required = freshness[0].required_end.tz_convert("America/New_York").strftime("%Y-%m-%d %H:%M")
    if stale:
        latest = ", ".join(f"{f.symbol} {_local(f.latest_end)}" for f in stale)
        return DEGRADED, f"stale: latest bar ends {latest}; needed through {required} New York"
    return (
        HEALTHY,
        f"fresh through {required} New York ({'market open' if is_open else 'market closed'})",
    )


def _gate(snapshot: Snapshot) -> tuple[str, str]:
    gate = snapshot.gate
    if gate is None:
        return UNKNOWN, "no session gated yet"
    if not gate.passing:
        return DEGRADED, f"session {gate.session} blocked: {(gate.reason or 'failed check')[:300]}"
    return HEALTHY, f"session {gate.session} passed"


def on_clock(clock: Clock, epoch: float) -> pd.Timestamp:
    """A wall-clock Unix time (Dagster's) as the moment `clock` shows for it."""
    return clock.recorded_time(pd.Timestamp(epoch, unit="s", tz="UTC"))


def _daemon(now: pd.Timestamp, snapshot: Snapshot, clock: Clock) -> tuple[str, str]:
    if snapshot.daemon_heartbeat_epoch is None:
        where = "" if snapshot.dagster_storage else " (Dagster storage not in this database)"
        return UNKNOWN, f"no daemon heartbeat seen{where}"
    age = (now - on_clock(clock, snapshot.daemon_heartbeat_epoch)).total_seconds()
    # The daemon beats in wall time: a replay running faster must not make it look late.
    overdue = on_clock(clock, snapshot.daemon_heartbeat_epoch + DAEMON_STALE_SECONDS)
    if now > overdue:
        return DEGRADED, f"last heartbeat {age:.0f} s ago; start it (make run)"
    return HEALTHY, f"heartbeat {max(age, 0):.0f} s ago"


def _timescaledb(snapshot: Snapshot) -> tuple[str, str]:
    """Chunks, compression and the background jobs; a job whose last run failed degrades."""
    if not snapshot.timescaledb:
        return UNKNOWN, "not in use: plain PostgreSQL"
    tables = "; ".join(
        f"{t.name} {t.chunks} chunks, {t.compressed_chunks} compressed"
        + (f" ({t.compression_ratio:.1f}x)" if t.compression_ratio else "")
        for t in snapshot.hypertables
    )
    failed = [j for j in snapshot.timescale_jobs if j.last_run_status == "Failed"]
    if failed:
        named = ", ".join(
            f"{j.proc_name} on {j.hypertable or '-'} (job {j.job_id})" for j in failed
        )
        return DEGRADED, f"job last run failed: {named}; see timescaledb_information.job_errors"
    return HEALTHY, f"{tables}; {len(snapshot.timescale_jobs)} job(s) ok"


def _local(moment: pd.Timestamp | None) -> str:
    return (
        "never"
        if moment is None
        else moment.tz_convert("America/New_York").strftime("%Y-%m-%d %H:%M")
    )


def status_lines(
    now: pd.Timestamp, health: Health, snapshot: Snapshot | None, clock: Clock
) -> list[str]:
    """A few lines for a terminal (GET /monitoring/status), every time on `clock`."""
    shown = now.tz_convert("America/New_York").strftime("%Y-%m-%d %H:%M %Z")
    market = "open" if market_open(now) else "closed"
    lines = [f"dual_ticker: {health.status.upper()}  ({shown}, market {market})"]
    for name in COMPONENTS:
        lines.append(f"  {name:<15}{health.components[name]:<10}{health.details.get(name, '')}")
    if snapshot is not None:
        success = snapshot.last_success_epoch
        last = on_clock(clock, success) if success else None
        lines.append(
            f"  {'last success':<15}{_local(last) if last is not None else 'none recorded'}"
        )
        value = sum(v for _, v, _ in snapshot.positions.values())
        held = ", ".join(f"{s} {q:g}" for s, (q, _, _) in snapshot.positions.items())
        lines.append(f"  {'portfolio':<15}${value:,.2f} ({held or 'no positions'})")
    return lines
