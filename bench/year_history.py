"""A year of history for the sidecar benchmark: both symbols through the lead's pipeline path,
plus SQL-made history of what a year of minute runs leaves behind (feed requests, quality
failures, alerts, Dagster runs), the running totals recomputed from it, and the cut to a month."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bench.databases import execute
from dual_ticker.settings import PROJECT_ROOT

FEED_REQUESTS = 500_000
QUALITY_FAILURES = 20_000
ALERTS = 5_000
MINUTE_RUNS = 252 * 390  # one minute run per regular minute of a year

SYNTHETIC_HISTORY = (
    f"""INSERT INTO feed_requests (feed, symbol, run_id, outcome, latency_seconds, bars, requested_at)
        SELECT CASE WHEN i % 50 = 0 THEN 'yahoo_finance' ELSE 'alpha_vantage' END,
               CASE WHEN i % 2 = 0 THEN 'NVDA' ELSE 'MSFT' END, 'run-' || (i / 2),
               CASE WHEN i % 97 = 0 THEN 'timeout' WHEN i % 89 = 0 THEN 'throttled' ELSE 'ok' END,
               0.05 + (i % 400) / 1000.0, 1,
               TIMESTAMPTZ '2019-01-02 14:30Z' + (i * INTERVAL '63 seconds')
        FROM generate_series(1, {FEED_REQUESTS}) AS i""",
    f"""INSERT INTO quality_failures (run_id, session, asset, check_name, reason, severity, description,
                                      recorded_at)
        SELECT 'run-' || i, DATE '2019-01-02' + (i % 363), 'raw_bars', 'check_raw_bars_missing_data',
               (ARRAY['missing_data','ohlc_violation','volume','price_jump','timestamp'])[1 + i % 5],
               CASE WHEN i % 4 = 0 THEN 'ERROR' ELSE 'WARN' END, 'synthetic history row',
               TIMESTAMPTZ '2019-01-02 15:00Z' + (i * INTERVAL '26 minutes')
        FROM generate_series(1, {QUALITY_FAILURES}) AS i""",
    f"""INSERT INTO alerts (dedupe_key, kind, severity, message, run_id, created_at, attempts, delivered_at)
        SELECT 'history-' || i, 'blocked_run', 'ERROR', 'synthetic history row', 'run-' || i,
               TIMESTAMPTZ '2019-01-02 15:00Z' + (i * INTERVAL '105 minutes'), 1,
               TIMESTAMPTZ '2019-01-02 15:00Z' + (i * INTERVAL '105 minutes')
        FROM generate_series(1, {ALERTS}) AS i""",
    f"""INSERT INTO runs (run_id, pipeline_name, status, run_body, partition, create_timestamp,
                          update_timestamp, start_time, end_time)
        SELECT md5(i::text), 'minute_job', CASE WHEN i % 500 = 0 THEN 'FAILURE' ELSE 'SUCCESS' END, '{{}}',
               to_char(DATE '2019-01-02' + (i / 390), 'YYYY-MM-DD'), t, t,
               extract(epoch FROM t), extract(epoch FROM t) + 4
        FROM (SELECT i, TIMESTAMP '2019-01-02 14:31' + (i * INTERVAL '321 seconds') AS t
              FROM generate_series(1, {MINUTE_RUNS}) AS i) AS s""",
    """INSERT INTO daemon_heartbeats (daemon_type, daemon_id, "timestamp", body)
        SELECT kind, 'bench', TIMESTAMP '2019-12-31 21:00', '{"timestamp": 1577826000.0}'
        FROM unnest(ARRAY['SCHEDULER', 'SENSOR', 'QUEUED_RUN_COORDINATOR', 'BACKFILL']) AS kind""",
)
RECOMPUTE_TOTALS = (
    "DELETE FROM bars_ingested_totals",
    "INSERT INTO bars_ingested_totals SELECT symbol, data_source, count(*) FROM raw_bars GROUP BY 1, 2",
    "UPDATE quality_failure_totals SET total = 0",
    """INSERT INTO quality_failure_totals SELECT reason, count(*) FROM quality_failures
       WHERE severity = 'ERROR' GROUP BY 1 ON CONFLICT (reason) DO UPDATE SET total = EXCLUDED.total""",
    "DELETE FROM feed_request_totals",
    """INSERT INTO feed_request_totals SELECT feed, outcome, count(*), sum(latency_seconds)
       FROM feed_requests GROUP BY 1, 2""",
    "DELETE FROM feed_latency_buckets",
    """INSERT INTO feed_latency_buckets SELECT f.feed, b.le, count(r.id)
       FROM (SELECT DISTINCT feed FROM feed_requests) AS f
       CROSS JOIN unnest(ARRAY[0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 'Infinity']::float8[]) AS b(le)
       LEFT JOIN feed_requests r ON r.feed = f.feed AND r.latency_seconds <= b.le GROUP BY 1, 2""",
)
CUT_TO_MONTH = (
    "DELETE FROM raw_bars WHERE session > '2019-01-31'",
    "DELETE FROM dual_ticker_bars WHERE \"timestamp\" >= '2019-02-01'",
    "DELETE FROM staged_features WHERE session > '2019-01-31'",
    "DELETE FROM staged_sessions WHERE session > '2019-01-31'",
    "DELETE FROM feed_requests WHERE requested_at >= '2019-02-01'",
    "DELETE FROM quality_failures WHERE recorded_at >= '2019-02-01'",
    "DELETE FROM alerts WHERE created_at >= '2019-02-01'",
    "DELETE FROM runs WHERE create_timestamp >= '2019-02-01'",
)
HISTORY_COUNTS = {
    table: f"SELECT count(*) FROM {table}"
    for table in ("raw_bars", "dual_ticker_bars", "feed_requests", "quality_failures", "alerts")
}


def fill_year(url: str, replay: Path) -> dict:
    """The year through the lead's pipeline path, then the synthetic history, then totals."""
    from dagster_postgres import DagsterPostgresStorage

    from dual_ticker.storage.database import dagster_url

    done = subprocess.run(
        [sys.executable, "-m", "bench.backfill", "pipeline", url, str(replay)],
        cwd=PROJECT_ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench.backfill pipeline failed:\n{done.stderr[-2000:]}")
    # Dagster's tables (runs, event logs) in the same database, as the project's instance has them
    storage = DagsterPostgresStorage(dagster_url(url), should_autocreate_tables=True)
    storage.event_log_storage.dispose()
    execute(url, [*SYNTHETIC_HISTORY, *RECOMPUTE_TOTALS])
    execute(url, ["VACUUM ANALYZE"], autocommit=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def cut_to_month(url: str) -> None:
    execute(url, [*CUT_TO_MONTH, *RECOMPUTE_TOTALS])
    execute(url, ["VACUUM FULL ANALYZE"], autocommit=True)


def count_history(url: str, with_runs: bool) -> dict[str, int]:
    """Rows per history table, and Dagster runs (whose table the empty database lacks)."""
    counts = {
        table: result[0][0]
        for table, result in zip(HISTORY_COUNTS, execute(url, HISTORY_COUNTS.values()), strict=True)
    }
    counts["runs"] = execute(url, ["SELECT count(*) FROM runs"])[0][0][0] if with_runs else 0
    return counts
