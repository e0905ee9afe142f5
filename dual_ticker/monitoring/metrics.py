"""The Prometheus exposition of a snapshot of durable state, on a fresh registry per scrape."""

from __future__ import annotations

import math
import re

import pandas as pd
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from dual_ticker.monitoring.freshness import Freshness, market_open
from dual_ticker.monitoring.snapshot import Snapshot

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
_WHOLE_NUMBER = re.compile(rb" (-?[0-9]+)\.0$", re.MULTILINE)
QUALITY_REASONS = (
    "missing_data",
    "ohlc_violation",
    "volume",
    "price_jump",
    "indicator_bounds",
    "timestamp",
)


class _Families:
    """A collector that yields the families it was given (one scrape's worth)."""

    def __init__(self, families: list) -> None:
        self._families = families

    def collect(self):
        return iter(self._families)


def exposition(
    now: pd.Timestamp,
    snapshot: Snapshot | None,
    freshness: list[Freshness],
    feeds: list[str],
    primary: str,
) -> bytes:
    """The metrics text; with snapshot None (database down) only what is known without it."""
    families = [
        _gauge(
            "database_up", "1 when the database answered this scrape", 0 if snapshot is None else 1
        ),
        _gauge(
            "market_open", "1 during the NYSE regular session (calendar)", int(market_open(now))
        ),
    ]
    if snapshot is not None:
        families += _data_families(snapshot, freshness)
        families += _feed_families(snapshot, feeds, primary)
        families += _run_families(snapshot)
        families += _portfolio_families(snapshot)
        families += _timescale_families(snapshot)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families(families))
    # Counts read as counts: `... 0`, not the client's `... 0.0` (both are valid exposition).
    return _WHOLE_NUMBER.sub(rb" \1", generate_latest(registry))


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def _labelled(kind, name: str, documentation: str, labels: list[str], samples: dict):
    family = kind(name, documentation, labels=labels)
    for key, value in sorted(samples.items()):
        family.add_metric(list(key) if isinstance(key, tuple) else [key], value)
    return family


def _data_families(snapshot: Snapshot, freshness: list[Freshness]) -> list:
    failures = {reason: 0 for reason in QUALITY_REASONS} | snapshot.quality_failures
    families = [
        _labelled(
            CounterMetricFamily,
            "data_bars_ingested",
            "Bars landed in raw_bars, by symbol and source",
            ["symbol", "source"],
            snapshot.bars_ingested,
        ),
        _labelled(
            CounterMetricFamily,
            "data_quality_failures",
            "Failed blocking quality checks, by reason",
            ["reason"],
            failures,
        ),
        _labelled(
            GaugeMetricFamily,
            "data_fresh",
            "1 when the symbol's stored bars are fresh (calendar-aware)",
            ["symbol"],
            {f.symbol: int(f.fresh) for f in freshness},
        ),
        _labelled(
            GaugeMetricFamily,
            "data_freshness_seconds",
            "Seconds since the end of the latest stored bar",
            ["symbol"],
            {f.symbol: f.age_seconds for f in freshness if f.age_seconds is not None},
        ),
        _labelled(
            GaugeMetricFamily,
            "data_latest_bar_end_timestamp_seconds",
            "End of the latest stored bar (Unix time)",
            ["symbol"],
            {f.symbol: f.latest_end.timestamp() for f in freshness if f.latest_end is not None},
        ),
    ]
    if snapshot.gate is not None:
        families.append(
            _labelled(
                GaugeMetricFamily,
                "data_quality_gate_passing",
                "1 when the latest gated session passed every blocking check",
                ["session"],
                {snapshot.gate.session: int(snapshot.gate.passing)},
            )
        )
    return families


def _feed_families(snapshot: Snapshot, feeds: list[str], primary: str) -> list:
    known = sorted(
        set(feeds) | {snapshot.active_feed} | {feed for feed, _ in snapshot.feed_requests}
    )
    histogram = HistogramMetricFamily(
        "feed_request_latency_seconds", "Latency of feed requests", labels=["feed"]
    )
    for feed, latency in sorted(snapshot.feed_latency.items()):
        buckets = [("+Inf" if math.isinf(le) else repr(le), n) for le, n in latency.buckets.items()]
        histogram.add_metric([feed], buckets, latency.total_seconds)
    return [
        _labelled(
            CounterMetricFamily,
            "feed_requests",
            "Feed requests by outcome",
            ["feed", "outcome"],
            snapshot.feed_requests,
        ),
        histogram,
        _labelled(
            GaugeMetricFamily,
            "feed_active",
            "1 for the feed runs use first",
            ["feed"],
            {feed: int(feed == snapshot.active_feed) for feed in known},
        ),
        _labelled(
            GaugeMetricFamily,
            "feed_primary",
            "1 for the configured primary feed",
            ["feed"],
            {feed: int(feed == primary) for feed in known},
        ),
        CounterMetricFamily(
            "feed_failovers",
            "Switches of the active feed (failover and failback)",
            value=snapshot.feed_switches,
        ),
    ]


def _run_families(snapshot: Snapshot) -> list:
    families = []
    if snapshot.dagster_storage:
        families.append(
            _gauge(
                "last_successful_run_timestamp_seconds",
                "End of the latest successful Dagster run (Unix time; 0: none yet)",
                snapshot.last_success_epoch or 0,
            )
        )
    if snapshot.daemon_heartbeat_epoch is not None:
        families.append(
            _gauge(
                "dagster_daemon_heartbeat_timestamp_seconds",
                "Latest Dagster daemon heartbeat (Unix time)",
                snapshot.daemon_heartbeat_epoch,
            )
        )
    return families


def _portfolio_families(snapshot: Snapshot) -> list:
    return [
        _gauge(
            "portfolio_value_dollars",
            "Sum of the positions' market values",
            sum(value for _, value, _ in snapshot.positions.values()),
        ),
        _labelled(
            GaugeMetricFamily,
            "position_quantity",
            "Shares held",
            ["symbol"],
            {s: q for s, (q, _, _) in snapshot.positions.items()},
        ),
        _labelled(
            GaugeMetricFamily,
            "position_market_value_dollars",
            "Market value of the position",
            ["symbol"],
            {s: v for s, (_, v, _) in snapshot.positions.items()},
        ),
        _labelled(
            GaugeMetricFamily,
            "position_unrealized_pnl_dollars",
            "Unrealized P&L of the position",
            ["symbol"],
            {s: p for s, (_, _, p) in snapshot.positions.items()},
        ),
    ]


def _timescale_families(snapshot: Snapshot) -> list:
    """Only on TimescaleDB: chunks, compression and background jobs."""
    if not snapshot.timescaledb:
        return []
    tables = {t.name: t for t in snapshot.hypertables}
    jobs = {(str(j.job_id), j.proc_name, j.hypertable or ""): j for j in snapshot.timescale_jobs}
    return [
        _labelled(
            GaugeMetricFamily,
            "timescaledb_chunks",
            "Chunks of the hypertable",
            ["hypertable"],
            {name: t.chunks for name, t in tables.items()},
        ),
        _labelled(
            GaugeMetricFamily,
            "timescaledb_compressed_chunks",
            "Compressed chunks of the hypertable",
            ["hypertable"],
            {name: t.compressed_chunks for name, t in tables.items()},
        ),
        _labelled(
            GaugeMetricFamily,
            "timescaledb_compression_ratio",
            "Bytes before / after compression of the compressed chunks (absent: none compressed)",
            ["hypertable"],
            {name: t.compression_ratio for name, t in tables.items() if t.compression_ratio},
        ),
        _labelled(
            CounterMetricFamily,
            "timescaledb_job_failures",
            "Failed runs of the TimescaleDB background job",
            ["job_id", "proc_name", "hypertable"],
            {key: j.total_failures for key, j in jobs.items()},
        ),
        _labelled(
            GaugeMetricFamily,
            "timescaledb_job_last_run_failed",
            "1 when the job's last run failed",
            ["job_id", "proc_name", "hypertable"],
            {key: int(j.last_run_status == "Failed") for key, j in jobs.items()},
        ),
    ]
