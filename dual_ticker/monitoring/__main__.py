"""`python -m dual_ticker.monitoring`: the sidecar on DUAL_TICKER_SIDECAR_HOST:PORT
(default 127.0.0.1:8000)."""

from __future__ import annotations

import sys

import uvicorn

from dual_ticker.clock.replay import clock_from_settings
from dual_ticker.monitoring.app import create_app
from dual_ticker.settings import ConfigError, load_settings
from dual_ticker.storage.database import DatabaseUnavailable, redact, resolve_url
from dual_ticker.storage.migrations import MigrationError
from dual_ticker.storage.ready import open_database


def main() -> int:
    try:
        settings = load_settings()
        url = resolve_url(settings.database_url, settings.home)
    except (ConfigError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    try:
        open_database(settings)
    except (DatabaseUnavailable, MigrationError) as error:
        # Serve anyway: health says what is wrong and recovers once the database answers.
        print(f"warning: {error}", file=sys.stderr)
    endpoints = settings.endpoints
    print(
        f"monitoring {redact(url)} on http://{endpoints.sidecar_host}:{endpoints.sidecar_port}/monitoring/health",
        flush=True,
    )
    uvicorn.run(
        create_app(url, settings, clock_from_settings(settings)),
        host=endpoints.sidecar_host,
        port=endpoints.sidecar_port,
        log_level="warning",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
