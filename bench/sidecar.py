"""Benchmark 3: the monitoring sidecar's /monitoring/metrics under load with a year of history, and
its scrape cost as history grows, beside a naive history-scanning scrape in the same run.

History: a year of both symbols through the lead's pipeline path (`python -m bench.backfill
pipeline`), plus SQL-made history of what a year of minute runs leaves behind (feed requests,
quality failures, alerts, Dagster runs). A month is the same database cut to January; empty is
just migrated. The sidecar runs as a real process (`python -m dual_ticker.monitoring`).

    python -m bench.sidecar [--rate 100] [--seconds 30] [--scrapes 200] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from contextlib import ExitStack, contextmanager
from pathlib import Path

import psycopg2

from bench.minute_latency import percentile
from dual_ticker.settings import PROJECT_ROOT

PATH = "/monitoring/metrics"
FEED_REQUESTS = 500_000
QUALITY_FAILURES = 20_000
ALERTS = 5_000
MINUTE_RUNS = 252 * 390  # one minute run per regular minute of a year
REQUEST_TIMEOUT_SECONDS = 5
NAIVE_SCRAPE = (  # what a scrape costs when it aggregates history instead of reading totals
    "SELECT symbol, data_source, count(*) FROM raw_bars GROUP BY 1, 2",
    "SELECT reason, count(*) FROM quality_failures WHERE severity = 'ERROR' GROUP BY 1",
    "SELECT feed, outcome, count(*), sum(latency_seconds) FROM feed_requests GROUP BY 1, 2",
    "SELECT feed, width_bucket(latency_seconds, ARRAY[0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]), count(*) "
    "FROM feed_requests GROUP BY 1, 2",
    'SELECT symbol, max("timestamp") FROM dual_ticker_bars GROUP BY 1',
    "SELECT max(end_time) FROM runs WHERE status = 'SUCCESS'",
)
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
    "DELETE FROM asset_frames WHERE session > '2019-01-31'",
    "DELETE FROM feed_requests WHERE requested_at >= '2019-02-01'",
    "DELETE FROM quality_failures WHERE recorded_at >= '2019-02-01'",
    "DELETE FROM alerts WHERE created_at >= '2019-02-01'",
    "DELETE FROM runs WHERE create_timestamp >= '2019-02-01'",
)
HISTORY_COUNTS = {
    table: f"SELECT count(*) FROM {table}"
    for table in ("raw_bars", "dual_ticker_bars", "feed_requests", "quality_failures", "alerts")
}


def with_database(url: str, name: str) -> str:
    base, _, query = url.partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")


def execute(url: str, statements, autocommit: bool = False) -> list:
    connection = psycopg2.connect(url)
    connection.autocommit = autocommit
    try:
        with connection.cursor() as cursor:
            results = []
            for statement in statements:
                cursor.execute(statement)
                results.append(cursor.fetchall() if cursor.description else None)
        if not autocommit:
            connection.commit()
        return results
    finally:
        connection.close()


def create_database(admin: str, name: str, template: str | None = None) -> str:
    statement = f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")
    for attempt in range(60):
        try:
            execute(admin, [statement], True)
            break
        except psycopg2.errors.ObjectInUse:  # autovacuum still on the template: a moment
            if attempt == 59:
                raise
            time.sleep(0.5)
    return with_database(admin, name)


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
    storage = DagsterPostgresStorage(
        dagster_url(url), should_autocreate_tables=True
    )  # Dagster's tables
    storage.event_log_storage.dispose()
    execute(url, [*SYNTHETIC_HISTORY, *RECOMPUTE_TOTALS])
    execute(url, ["VACUUM ANALYZE"], autocommit=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def cut_to_month(url: str) -> None:
    execute(url, [*CUT_TO_MONTH, *RECOMPUTE_TOTALS])
    execute(url, ["VACUUM FULL ANALYZE"], autocommit=True)


def free_port() -> int:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        return listener.getsockname()[1]


@contextmanager
def sidecar(url: str, home: Path):
    """`python -m dual_ticker.monitoring` on the database, in its own process group."""
    port = free_port()
    env = {
        **os.environ,
        "DUAL_TICKER_DATABASE_URL": url,
        "DUAL_TICKER_SIDECAR_PORT": str(port),
        "DUAL_TICKER_HOME": str(home),
        "DUAL_TICKER_ENV": "prod",
    }
    log = (home / f"sidecar-{port}.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "dual_ticker.monitoring"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                status, _ = get(port, "/monitoring/health")
                if status in (200, 503):
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the sidecar did not answer; read {log.name}")
            time.sleep(0.1)
        yield process, port
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()


def get(
    port: int, path: str, connection: http.client.HTTPConnection | None = None
) -> tuple[int, bytes]:
    own = connection or http.client.HTTPConnection(
        "127.0.0.1", port, timeout=REQUEST_TIMEOUT_SECONDS
    )
    try:
        own.request("GET", path)
        response = own.getresponse()
        return response.status, response.read()
    finally:
        if connection is None:
            own.close()


def stats_ms(values: list[float]) -> dict:
    return {
        "n": len(values),
        "p50": round(percentile(values, 0.5) * 1000, 2),
        "p95": round(percentile(values, 0.95) * 1000, 2),
        "p99": round(percentile(values, 0.99) * 1000, 2),
        "max": round(max(values) * 1000, 2),
        "mean": round(statistics.fmean(values) * 1000, 2),
    }


def sequential_scrapes(port: int, count: int) -> dict:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_SECONDS)
    try:
        for _ in range(10):  # warm-up
            get(port, PATH, connection)
        latencies, size = [], 0
        for _ in range(count):
            began = time.perf_counter()
            status, body = get(port, PATH, connection)
            latencies.append(time.perf_counter() - began)
            if status != 200:
                raise RuntimeError(f"{PATH} answered {status}")
            size = len(body)
    finally:
        connection.close()
    return {**stats_ms(latencies), "bytes": size}


def connect_cost(url: str, repeats: int = 50) -> dict:
    """A new PostgreSQL connection, as the sidecar opens one per request."""
    latencies = []
    for _ in range(repeats):
        began = time.perf_counter()
        psycopg2.connect(url).close()
        latencies.append(time.perf_counter() - began)
    return stats_ms(latencies)


def naive_scrape(url: str, repeats: int) -> dict:
    connection = psycopg2.connect(url)
    try:
        latencies = []
        with connection.cursor() as cursor:
            for _ in range(repeats):
                began = time.perf_counter()
                for statement in NAIVE_SCRAPE:
                    cursor.execute(statement)
                    cursor.fetchall()
                latencies.append(time.perf_counter() - began)
        return stats_ms(latencies)
    finally:
        connection.close()


async def open_loop(port: int, rate: float, seconds: float) -> dict:
    """Requests at fixed scheduled times (i / rate), each timed from its scheduled time to the end
    of its response, on a pool of keep-alive connections: a slow answer delays nothing else, so
    queueing shows up in the latencies (no coordinated omission)."""
    loop = asyncio.get_running_loop()
    request = f"GET {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    idle: list = []
    latencies: list[float] = []
    errors: dict[str, int] = {}
    opened = reconnects = 0
    start = loop.time() + 0.2

    async def exchange(connection) -> int:
        reader, writer = connection
        writer.write(request)
        first = await reader.readline()
        if not first:  # the server closed this idle keep-alive connection (its keep-alive timeout)
            raise ConnectionResetError("keep-alive connection closed by the server")
        status = int(first.split()[1])
        length, closing = 0, False
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
            closing |= name.lower() == "connection" and "close" in value.lower()
        await reader.readexactly(length)
        return status if not closing else -status

    async def send(connection) -> tuple[int, tuple]:
        """On a pooled connection the server may have closed meanwhile, retry once on a new one
        (as HTTP clients do for idempotent requests); the latency keeps counting."""
        nonlocal opened, reconnects
        if connection is not None:
            try:
                return await asyncio.wait_for(
                    exchange(connection), REQUEST_TIMEOUT_SECONDS
                ), connection
            except (ConnectionResetError, BrokenPipeError, asyncio.IncompleteReadError):
                connection[1].close()
                reconnects += 1
        opened += 1
        connection = await asyncio.open_connection("127.0.0.1", port)
        try:
            return await asyncio.wait_for(exchange(connection), REQUEST_TIMEOUT_SECONDS), connection
        except BaseException:
            connection[1].close()
            raise

    async def one(i: int) -> None:
        scheduled = start + i / rate
        await asyncio.sleep(max(0.0, scheduled - loop.time()))
        connection = idle.pop() if idle else None
        try:
            status, connection = await send(connection)
            latencies.append(loop.time() - scheduled)
            if abs(status) != 200:
                errors[f"http_{abs(status)}"] = errors.get(f"http_{abs(status)}", 0) + 1
            if status > 0:
                idle.append(connection)
            else:
                connection[1].close()
        except (
            TimeoutError,
            OSError,
            asyncio.IncompleteReadError,
            ValueError,
            IndexError,
        ) as error:
            errors[type(error).__name__] = errors.get(type(error).__name__, 0) + 1

    await asyncio.gather(*(one(i) for i in range(int(rate * seconds))))
    elapsed = loop.time() - start
    for _, writer in idle:
        writer.close()
    return {
        "requests": int(rate * seconds),
        "answered": len(latencies),
        "errors": errors,
        "achieved_rate": round(len(latencies) / elapsed, 1),
        "connections_opened": opened,
        "stale_keepalive_retries": reconnects,
        "latency_ms": stats_ms(latencies) if latencies else None,
    }


def process_stats(pid: int) -> dict:
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    ticks = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(ticks[11]) + int(ticks[12])) / os.sysconf("SC_CLK_TCK")
    return {
        "vm_hwm_mb": round(int(fields["VmHWM"].split()[0]) / 1024, 1),
        "vm_rss_mb": round(int(fields["VmRSS"].split()[0]) / 1024, 1),
        "cpu_seconds": cpu,
    }


def run_benchmark(rate: float, seconds: float, scrapes: int, keep: bool) -> dict:
    from bench.year_data import write_year
    from dual_ticker.storage import embedded
    from dual_ticker.storage.migrations import apply_migrations

    home = Path(tempfile.mkdtemp(prefix="dt-bench-sidecar-"))
    os.environ.pop("DUAL_TICKER_DATABASE_URL", None)
    os.environ["DUAL_TICKER_HOME"] = str(home)
    os.environ["PYTHONWARNINGS"] = "ignore"
    with ExitStack() as stack:
        if not keep:
            stack.callback(lambda: __import__("shutil").rmtree(home, ignore_errors=True))
        admin = with_database(embedded.start(home), "postgres")
        stack.callback(embedded.stop, home)
        urls = {}
        for name in ("empty", "year"):
            urls[name] = create_database(admin, f"bench_{name}")
            apply_migrations(urls[name])
        rows = write_year(home / "replay")
        began = time.perf_counter()
        backfill = fill_year(urls["year"], home / "replay")
        fill_seconds = time.perf_counter() - began
        urls["month"] = create_database(admin, "bench_month", template="bench_year")
        cut_to_month(urls["month"])
        sizes, history = {}, {}
        for name in ("empty", "month", "year"):
            history[name] = {
                table: result[0][0]
                for table, result in zip(
                    HISTORY_COUNTS, execute(urls[name], HISTORY_COUNTS.values()), strict=True
                )
            }
            history[name]["runs"] = (
                execute(urls[name], ["SELECT count(*) FROM runs"])[0][0][0]
                if name != "empty"
                else 0
            )
            with sidecar(urls[name], home) as (_, port):
                sizes[name] = {
                    "sidecar_scrape_ms": sequential_scrapes(port, scrapes),
                    "naive_scrape_ms": naive_scrape(urls[name], 20) if name != "empty" else None,
                }
            print(
                f"{name}: scrape p50 {sizes[name]['sidecar_scrape_ms']['p50']} ms",
                file=sys.stderr,
                flush=True,
            )
        with sidecar(urls["year"], home) as (process, port):
            asyncio.run(open_loop(port, rate, 5))  # warm-up at the same rate, not counted
            before = process_stats(process.pid)
            load = asyncio.run(open_loop(port, rate, seconds))
            after = process_stats(process.pid)
        server = execute(urls["empty"], ["SHOW server_version"])[0][0][0]
        connect = connect_cost(urls["year"])
    load["sidecar_vm_hwm_mb"] = after["vm_hwm_mb"]
    load["sidecar_cpu_ms_per_request"] = round(
        (after["cpu_seconds"] - before["cpu_seconds"]) * 1000 / max(1, load["answered"]), 2
    )
    year, empty = (
        sizes["year"]["sidecar_scrape_ms"]["p50"],
        sizes["empty"]["sidecar_scrape_ms"]["p50"],
    )
    return {
        "benchmark": "sidecar",
        "rate": rate,
        "seconds": seconds,
        "scrapes_per_size": scrapes,
        "year_rows_written": rows,
        "year_fill": {"seconds": round(fill_seconds, 1), "backfill": backfill},
        "history": history,
        "scrape_cost": sizes,
        "scrape_ratio_year_to_empty": round(year / empty, 2),
        "naive_ratio_year_to_month": round(
            sizes["year"]["naive_scrape_ms"]["p50"] / sizes["month"]["naive_scrape_ms"]["p50"], 1
        ),
        "load": load,
        "connect_ms": connect,
        "postgres_server_version": server,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=100, help="requests per second (open loop)")
    parser.add_argument("--seconds", type=float, default=30, help="length of the measured load")
    parser.add_argument(
        "--scrapes", type=int, default=200, help="sequential scrapes per history size"
    )
    parser.add_argument("--json", type=Path, help="write the result here (default: stdout)")
    parser.add_argument(
        "--keep", action="store_true", help="keep the private home (logs) afterwards"
    )
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    result = run_benchmark(args.rate, args.seconds, args.scrapes, args.keep)
    text = json.dumps(result, indent=1)
    if args.json:
        args.json.write_text(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
