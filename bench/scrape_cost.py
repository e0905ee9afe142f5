"""What a scrape of the sidecar costs: sequential scrapes on one keep-alive connection, the
PostgreSQL connection the sidecar opens per request, and a naive scrape that aggregates history
instead of reading totals (the baseline)."""

from __future__ import annotations

import http.client
import time

import psycopg2

from bench.percentiles import stats_ms
from bench.sidecar_process import PATH, REQUEST_TIMEOUT_SECONDS, get

NAIVE_SCRAPE = (  # what a scrape costs when it aggregates history instead of reading totals
    "SELECT symbol, data_source, count(*) FROM raw_bars GROUP BY 1, 2",
    "SELECT reason, count(*) FROM quality_failures WHERE severity = 'ERROR' GROUP BY 1",
    "SELECT feed, outcome, count(*), sum(latency_seconds) FROM feed_requests GROUP BY 1, 2",
    "SELECT feed, width_bucket(latency_seconds, ARRAY[0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]), count(*) "
    "FROM feed_requests GROUP BY 1, 2",
    'SELECT symbol, max("timestamp") FROM dual_ticker_bars GROUP BY 1',
    "SELECT max(end_time) FROM runs WHERE status = 'SUCCESS'",
)


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
