"""The sidecar's HTTP routes: /monitoring/health (JSON), /monitoring/metrics (Prometheus text) and
/monitoring/status (plain text). Each request reads durable state in its own short transaction
(on a connection the process keeps, checked before use), so the answers are right for runs in
other processes and recover by themselves when the database returns."""

from __future__ import annotations

import logging

import psycopg2
from fastapi import FastAPI
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from dual_ticker.clock import Clock
from dual_ticker.monitoring.freshness import judge
from dual_ticker.monitoring.health import assess, status_lines
from dual_ticker.monitoring.metrics import CONTENT_TYPE, exposition
from dual_ticker.monitoring.snapshot import Snapshot, read_snapshot
from dual_ticker.settings import Settings
from dual_ticker.storage.database import DatabaseUnavailable, redact, transaction

log = logging.getLogger("dual_ticker.monitoring")
CONNECT_TIMEOUT_SECONDS = 2


class StateReader:
    """Reads one snapshot per request; None with a reason when the database cannot answer."""

    def __init__(self, database_url: str, settings: Settings) -> None:
        self._url = database_url
        self._settings = settings

    def read(self) -> tuple[Snapshot | None, str | None]:
        try:
            with transaction(self._url, CONNECT_TIMEOUT_SECONDS) as connection:
                return read_snapshot(
                    connection, list(self._settings.data.symbols), self._settings.feeds.primary
                ), None
        except DatabaseUnavailable as error:
            return None, str(error)
        except psycopg2.Error as error:
            reason = (
                redact(str(error).strip().splitlines()[0])
                if str(error).strip()
                else type(error).__name__
            )
            log.warning("monitoring read failed: %s", reason)
            return (
                None,
                f"database error: {reason}; check the server and the migrations (make db-start)",
            )


def create_app(database_url: str, settings: Settings, clock: Clock) -> FastAPI:
    """The sidecar app on one database, judged with the settings' calendar rules and the clock."""
    reader = StateReader(database_url, settings)
    bar, cap = settings.data.bar_size, settings.data.max_bars_per_test
    primary = settings.feeds.primary
    feeds = [name for name in (settings.feeds.primary, settings.feeds.fallback) if name]
    app = FastAPI(title="dual_ticker monitoring", docs_url=None, redoc_url=None, openapi_url=None)

    def observe():
        now = clock.now()
        snapshot, error = reader.read()
        freshness = (
            []
            if snapshot is None
            else [
                judge(symbol, start, now, bar, cap, settings.feeds.delay_minutes)
                for symbol, start in snapshot.latest_bar_start.items()
            ]
        )
        return now, snapshot, error, freshness

    @app.get("/monitoring/health")
    def health() -> JSONResponse:
        now, snapshot, error, freshness = observe()
        verdict = assess(now, snapshot, freshness, primary, error, clock=clock)
        return JSONResponse(verdict.as_json(now), status_code=verdict.http_status)

    @app.get("/monitoring/metrics")
    def metrics() -> Response:
        now, snapshot, _, freshness = observe()
        return Response(
            exposition(now, snapshot, freshness, feeds, primary), media_type=CONTENT_TYPE
        )

    @app.get("/monitoring/status", response_class=PlainTextResponse)
    def status() -> PlainTextResponse:
        now, snapshot, error, freshness = observe()
        verdict = assess(now, snapshot, freshness, primary, error, clock=clock)
        return PlainTextResponse(
            "\n".join(status_lines(now, verdict, snapshot, clock)) + "\n",
            status_code=verdict.http_status,
        )

    return app
