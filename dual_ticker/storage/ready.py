"""The project's database made ready once per process: resolved (the embedded server started if
needed) and migrated. Every entry point opens the database through here."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from dual_ticker.settings import Settings
from dual_ticker.storage import timescale
from dual_ticker.storage.database import resolve_url, transaction
from dual_ticker.storage.migrations import apply_migrations


def open_database(settings: Settings) -> str:
    """The URL of the configured database, with every migration applied and TimescaleDB's
    policies as configured."""
    return open_database_at(
        settings.database_url, settings.home, settings.timescaledb.raw_bars_retention_days
    )


@lru_cache(maxsize=8)
def open_database_at(
    database_url: str | None, home: Path, raw_bars_retention_days: int | None = None
) -> str:
    """As open_database, for a normalised URL (None: the embedded server under home)."""
    url = resolve_url(database_url, Path(home))
    apply_migrations(url)
    with transaction(url) as connection:
        timescale.apply_retention(connection, raw_bars_retention_days)
    return url
