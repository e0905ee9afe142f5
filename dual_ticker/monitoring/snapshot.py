"""What the sidecar reads from durable state, in one short read-only transaction per request.

Every query reads a running-totals table, a single-row state table or an indexed "latest" row, so
a scrape costs the same however long the history is. The tables' SQL lives with their owners in
dual_ticker.storage; the bar tables' two reads here move to theirs when those owners exist.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from dual_ticker.monitoring.dagster_runs import read_activity
from dual_ticker.storage import (
    contract_bars,
    feed_health,
    positions,
    quality_log,
    raw_bars,
    timescale,
)
from dual_ticker.storage.feed_health import LATENCY_BUCKETS

RECENT_REQUESTS = 3  # the active feed counts as failing when its last three requests all failed


@dataclass(frozen=True)
class FeedLatency:
    buckets: dict[float, int]  # cumulative counts by upper bound, +inf included
    count: int
    total_seconds: float


@dataclass(frozen=True)
class Gate:
    session: str
    passing: bool
    reason: str | None


@dataclass
class Snapshot:
    bars_ingested: dict[tuple[str, str], int] = field(default_factory=dict)
    quality_failures: dict[str, int] = field(default_factory=dict)
    feed_requests: dict[tuple[str, str], int] = field(default_factory=dict)
    feed_latency: dict[str, FeedLatency] = field(default_factory=dict)
    active_feed: str | None = None
    feed_switches: int = 0
    recent_outcomes: list[str] = field(default_factory=list)  # of the active feed, newest first
    latest_bar_start: dict[str, pd.Timestamp | None] = field(default_factory=dict)
    gate: Gate | None = None
    positions: dict[str, tuple[float, float, float]] = field(
        default_factory=dict
    )  # qty, value, pnl
    last_success_epoch: float | None = None
    dagster_storage: bool = False  # Dagster's run storage lives in this database
    daemon_heartbeat_epoch: float | None = None
    timescaledb: bool = False  # the extension is present in this database
    hypertables: list[timescale.HypertableState] = field(default_factory=list)
    timescale_jobs: list[timescale.JobState] = field(default_factory=list)


def read_snapshot(connection, symbols: list[str], default_feed: str) -> Snapshot:
    with connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION READ ONLY")
    snapshot = Snapshot()
    snapshot.bars_ingested = feed_health.ingested_totals(connection)
    snapshot.quality_failures = quality_log.failure_totals(connection)
    _read_feeds(connection, snapshot, default_feed)
    snapshot.latest_bar_start = contract_bars.latest_starts(connection, symbols)
    snapshot.gate = _read_gate(connection)
    with connection.cursor() as cursor:
        activity = read_activity(cursor)
    snapshot.positions = {
        row.symbol: (row.qty, row.market_value, row.unrealized_pnl)
        for row in positions.current(connection)
    }
    snapshot.dagster_storage = activity.storage
    snapshot.last_success_epoch = activity.last_success_epoch
    snapshot.daemon_heartbeat_epoch = activity.daemon_heartbeat_epoch
    snapshot.timescaledb = timescale.enabled(connection)
    if snapshot.timescaledb:  # catalog reads: a count per hypertable, a row per job
        snapshot.hypertables = timescale.hypertables(connection)
        snapshot.timescale_jobs = timescale.jobs(connection)
    return snapshot


def _read_feeds(connection, snapshot: Snapshot, default_feed: str) -> None:
    totals = feed_health.request_totals(connection)
    snapshot.feed_requests = {key: n for key, (n, _) in totals.items()}
    buckets = feed_health.latency_counts(connection)
    for feed in sorted({feed for feed, _ in totals}):
        count = sum(n for (f, _), (n, _) in totals.items() if f == feed)
        seconds = sum(s for (f, _), (_, s) in totals.items() if f == feed)
        # A bucket without a row has seen no request at or below its bound: zero.
        cumulative = {le: 0 for le in LATENCY_BUCKETS} | buckets.get(feed, {})
        cumulative[math.inf] = count
        snapshot.feed_latency[feed] = FeedLatency(dict(sorted(cumulative.items())), count, seconds)
    snapshot.active_feed = feed_health.active_feed(connection, default_feed)
    snapshot.feed_switches = feed_health.switches(connection)
    snapshot.recent_outcomes = feed_health.recent_outcomes(
        connection, snapshot.active_feed, RECENT_REQUESTS
    )


def _read_gate(connection) -> Gate | None:
    """The gate's verdict on the latest gated session: the run that gated it last failed a blocking
    check if it rejected the raw bars or recorded an ERROR failure for that session (features)."""
    latest = raw_bars.latest_verdict(connection)
    if latest is None:
        return None
    session, status, run_id, reason = latest
    if status == "rejected":
        return Gate(session, False, reason)
    failure = quality_log.first_error(connection, session, run_id)
    return Gate(session, failure is None, failure)
