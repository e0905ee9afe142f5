"""Dagster's own storage (runs, events, schedules) in the project's PostgreSQL.

dagster.yaml names this class, so every Dagster process (webserver, daemon, CLI) finds the same
server the assets use: DUAL_TICKER_DATABASE_URL when set, else the embedded one (started if needed).
"""

from __future__ import annotations

from dagster import Field
from dagster_postgres import DagsterPostgresStorage

from dual_ticker.settings import load_settings
from dual_ticker.storage.database import dagster_url, resolve_url


class ProjectPostgresStorage(DagsterPostgresStorage):
    @classmethod
    def config_type(cls):
        return {"should_autocreate_tables": Field(bool, is_required=False, default_value=True)}

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        settings = load_settings()
        url = dagster_url(resolve_url(settings.database_url, settings.home))
        storage = cls(
            postgres_url=url,
            should_autocreate_tables=config_value.get("should_autocreate_tables", True),
            inst_data=inst_data,
        )
        # dagster-postgres opens a connection per statement unless told otherwise (only the
        # webserver does): a minute run writes about 50 events, its creation 13 more.
        for part in (storage.run_storage, storage.event_log_storage, storage.schedule_storage):
            part.optimize_for_webserver(statement_timeout=0, pool_recycle=3600, max_overflow=4)
        return storage
