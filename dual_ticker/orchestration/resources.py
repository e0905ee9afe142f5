"""Dagster resources: the database and the feeds, configured from the one settings object."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import pandas as pd
from pydantic import PrivateAttr

from dual_ticker.clock import Clock
from dual_ticker.feeds.base import IntradayFeed
from dual_ticker.feeds.bounded import BoundedFeed
from dual_ticker.feeds.replay import ReplayFeed
from dual_ticker.settings import Settings
from dual_ticker.storage.database import normalised_url, transaction
from dual_ticker.storage.ready import open_database_at


def _ready_url(database_url: str | None, home: str, retention_days: int | None = None) -> str:
    """The database opened once per process. dg.EnvVar hands over DUAL_TICKER_DATABASE_URL as
    written, so it is normalised here as load_settings does (postgresql+psycopg2://, key=value)."""
    return open_database_at(
        normalised_url(database_url) if database_url else None, Path(home), retention_days
    )


class DatabaseResource(dg.ConfigurableResource):
    """PostgreSQL of the project: DUAL_TICKER_DATABASE_URL, or the embedded server under home."""

    url: str | None = None
    home: str
    raw_bars_retention_days: int | None = None  # TimescaleDB only; None keeps every raw bar

    def connection_url(self) -> str:
        return _ready_url(self.url, self.home, self.raw_bars_retention_days)

    @contextmanager
    def transaction(self):
        with transaction(self.connection_url()) as connection:
            yield connection


class _OnFirstUse(IntradayFeed):
    def __init__(self, name: str, build):
        self.name = name
        self._build = build

    def can_serve(self, start, as_of) -> bool:
        return self._build().can_serve(start, as_of)

    def fetch_intraday(self, symbol, start, end, as_of):
        return self._build().fetch_intraday(symbol, start, end, as_of)


class FeedResource(dg.ConfigurableResource):
    """The configured feeds in failover order (primary first). The Alpha Vantage key arrives
    through dg.EnvVar at run time: never in run config, metadata or logs."""

    primary: str
    fallback: str | None = None
    replay_dir: str
    alphavantage_api_key: str | None = None
    _clients: dict = PrivateAttr(default_factory=dict)

    def source_order(self) -> list[str]:
        return [name for name in (self.primary, self.fallback) if name]

    def client(self, name: str, settings: Settings, clock: Clock) -> IntradayFeed:
        if name not in self._clients:
            feed = self._build(name, settings, clock)
            bound = settings.data.max_bars_per_session
            self._clients[name] = BoundedFeed(feed, bound) if bound else feed
        return self._clients[name]

    def _build(self, name: str, settings: Settings, clock: Clock) -> IntradayFeed:
        if name == "replay":
            return ReplayFeed(self.replay_dir)
        if name == "alpha_vantage":
            from dual_ticker.feeds.alpha_vantage import AlphaVantageFeed

            if not self.alphavantage_api_key:
                raise dg.Failure(
                    "ALPHAVANTAGE_API_KEY is not set; export it, or use feeds.primary: replay"
                )
            staleness = pd.Timedelta(minutes=settings.validation.max_staleness_minutes)
            return AlphaVantageFeed.from_settings(
                self.alphavantage_api_key,
                settings.feeds,
                settings.endpoints,
                clock=clock,
                staleness=staleness,
            )
        from dual_ticker.feeds.yahoo import YahooFinanceFeed

        return YahooFinanceFeed.from_settings(
            settings.home / "yfinance", settings.feeds, settings.endpoints, clock=clock
        )

    def clients(
        self, settings: Settings, clock: Clock, first: str | None = None
    ) -> list[IntradayFeed]:
        """In failover order; each built on first use (a fallback that is never asked costs nothing,
        e.g. importing yfinance in every minute run)."""
        order = self.source_order()
        if first in order:
            order = [first] + [name for name in order if name != first]
        return [
            _OnFirstUse(name, lambda name=name: self.client(name, settings, clock))
            for name in order
        ]

    def teardown_after_execution(self, context) -> None:
        for client in self._clients.values():
            getattr(getattr(client, "feed", client), "close", lambda: None)()
