"""Runs the real asset graph in process against a test database (no part of it replaced)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pandas as pd
import psycopg2

from dual_ticker.calendar.as_of import AS_OF_TAG
from dual_ticker.clock import Clock, FixedClock
from dual_ticker.definitions import ASSETS, build_resources
from dual_ticker.orchestration.resources import DatabaseResource
from dual_ticker.settings import Settings, load_settings

REPLAY_DIR = Path(__file__).resolve().parents[2] / "data" / "replay"
CONTRACT_QUERY = """SELECT "timestamp", symbol, open, high, low, close, volume, rsi, ema_short, ema_long, vwap,
       hour_sin, hour_cos, minute_sin, minute_cos, data_source, created_at
       FROM dual_ticker_bars ORDER BY symbol, "timestamp" """


def prod_settings_on(home: Path, alpha_vantage, yahoo, **feeds) -> Settings:
    """The prod settings against the loopback simulators, with these feed settings changed and
    the standard validation profile."""
    settings = load_settings(
        {
            "DUAL_TICKER_ENV": "prod",
            "DUAL_TICKER_HOME": str(home),
            "ALPHAVANTAGE_BASE_URL": f"{alpha_vantage.url}/query",
            "YAHOO_BASE_URL": yahoo.url,
        }
    )
    changed = settings.feeds.model_copy(update={"rate_limit_per_minute": 60_000, **feeds})
    return settings.model_copy(update={"feeds": changed, "validation_profile": "standard"})


def resources_for(
    database_url: str, settings: Settings, clock: Clock | None = None, **overrides
) -> dict:
    settings = settings.model_copy(update=overrides) if overrides else settings
    resources = build_resources(settings, clock or FixedClock(pd.Timestamp("2026-01-02T00:00Z")))
    database = DatabaseResource(url=database_url, home=str(settings.home))
    resources["database"] = database
    return resources


def materialize(
    database_url: str,
    settings: Settings,
    partition: str | tuple[str, str],
    *,
    as_of: str | None = None,
    clock: Clock | None = None,
    instance=None,
    selection=None,
    extra_tags: dict | None = None,
    **overrides,
) -> dg.ExecuteInProcessResult:
    """Materializes one session (or a (first, last) range in one run) through the whole graph."""
    tags = ({AS_OF_TAG: as_of} if as_of else {}) | (extra_tags or {})
    key = None
    if isinstance(partition, tuple):
        tags |= {
            "dagster/asset_partition_range_start": partition[0],
            "dagster/asset_partition_range_end": partition[1],
        }
    else:
        key = partition
    return dg.materialize(
        ASSETS,
        partition_key=key,
        tags=tags,
        selection=selection,
        resources=resources_for(database_url, settings, clock, **overrides),
        instance=instance or dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def contract_rows(database_url: str) -> pd.DataFrame:
    connection = psycopg2.connect(database_url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(CONTRACT_QUERY)
            columns = [d.name for d in cursor.description]
            return pd.DataFrame(cursor.fetchall(), columns=columns)
    finally:
        connection.close()


def scalar(database_url: str, query: str, params=()):
    """The first value of a query's first row; the statement is committed."""
    connection = psycopg2.connect(database_url)
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute(query, params)
            return cursor.fetchone()[0]
    finally:
        connection.close()


def check_evaluations(result: dg.ExecuteInProcessResult) -> dict[str, object]:
    return {
        evaluation.check_name: evaluation for evaluation in result.get_asset_check_evaluations()
    }


def write_replay(folder: Path, frames: dict[str, pd.DataFrame]) -> Path:
    """Writes <SYMBOL>.csv replay files (New York wall time, bar start) into folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for symbol, frame in frames.items():
        frame.to_csv(folder / f"{symbol}.csv", index=False)
    return folder


def recorded(symbol: str) -> pd.DataFrame:
    return pd.read_csv(REPLAY_DIR / f"{symbol}.csv")
