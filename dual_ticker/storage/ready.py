"""The project's database made ready once per process: resolved (the embedded server started if
needed) and migrated. Every entry point opens the database through here."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from dual_ticker.settings import Settings
from dual_ticker.storage.database import resolve_url
from dual_ticker.storage.migrations import apply_migrations


def open_database(settings: Settings) -> str:
    """The URL of the configured database, with every migration applied."""
    return open_database_at(settings.database_url, settings.home)


@lru_cache(maxsize=8)
def open_database_at(database_url: str | None, home: Path) -> str:
    """As open_database, for a normalised URL (None: the embedded server under home)."""
    url = resolve_url(database_url, Path(home))
    apply_migrations(url)
    return url
