"""Dagster resources: the database and the feeds, configured from the one settings object."""

from __future__ import annotations

from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import dagster as dg

from dual_ticker.feeds.base import IntradayFeed
from dual_ticker.feeds.replay import ReplayFeed
from dual_ticker.storage.database import connect, resolve_url
from dual_ticker.storage.migrations import apply_migrations


@lru_cache(maxsize=16)
def _ready_url(database_url: str | None, home: str) -> str:
    """Resolves (starting the embedded server if needed) and migrates once per process."""
    url = resolve_url(database_url, Path(home))
    apply_migrations(url)
    return url


class DatabaseResource(dg.ConfigurableResource):
    """PostgreSQL of the project: DUAL_TICKER_DATABASE_URL, or the embedded server under home."""

    url: str | None = None
    home: str

    def connection_url(self) -> str:
        return _ready_url(self.url, self.home)

    @contextmanager
    def transaction(self):
        connection = connect(self.connection_url())
        try:
            with connection:
                yield connection
        finally:
            connection.close()


class FeedResource(dg.ConfigurableResource):
    """The configured feeds in failover order (primary first)."""

    primary: str
    fallback: str | None = None
    replay_dir: str

    def source_order(self) -> list[str]:
        return [name for name in (self.primary, self.fallback) if name]

    def client(self, name: str) -> IntradayFeed:
        if name == "replay":
            return ReplayFeed(self.replay_dir)
        raise dg.Failure(f"feed {name!r} is not available in this build; use 'replay' in feeds.primary")

    def clients(self, first: str | None = None) -> list[IntradayFeed]:
        order = self.source_order()
        if first in order:
            order = [first] + [name for name in order if name != first]
        return [self.client(name) for name in order]
