"""The Dagster code location `dual_ticker`: assets, checks, resources, schedules and sensors."""

from __future__ import annotations

import dagster as dg

from dual_ticker.clock import SYSTEM_CLOCK, Clock
from dual_ticker.clock.replay import clock_from_settings
from dual_ticker.orchestration import process_exit  # noqa: F401  (registers the fast exit)
from dual_ticker.orchestration.assets.market_data import (
    dual_ticker_bars,
    features,
    raw_bars,
    validated_bars,
)
from dual_ticker.orchestration.assets.portfolio import positions
from dual_ticker.orchestration.chunk_materializations import by_chunk_executor
from dual_ticker.orchestration.resources import DatabaseResource, FeedResource
from dual_ticker.orchestration.run_sessions import run_sessions_resource
from dual_ticker.orchestration.schedules import build_minute_schedule, minute_job
from dual_ticker.orchestration.sensors.alerts import ALERT_SENSORS, AlertResource
from dual_ticker.orchestration.sensors.failover import feed_failover_sensor
from dual_ticker.settings import Settings, load_settings

ASSETS = [raw_bars, validated_bars, features, dual_ticker_bars, positions]


def build_resources(settings: Settings, clock: Clock = SYSTEM_CLOCK) -> dict:
    uses_alpha_vantage = "alpha_vantage" in (settings.feeds.primary, settings.feeds.fallback)
    database = DatabaseResource(
        # The URL may hold a password: read at run time from the environment, hidden in the UI.
        url=dg.EnvVar("DUAL_TICKER_DATABASE_URL") if settings.database_url else None,
        home=str(settings.home),
        raw_bars_retention_days=settings.timescaledb.raw_bars_retention_days,
    )
    return {
        "database": database,
        "feeds": FeedResource(
            primary=settings.feeds.primary,
            fallback=settings.feeds.fallback,
            replay_dir=str(settings.replay_dir),
            alphavantage_api_key=dg.EnvVar("ALPHAVANTAGE_API_KEY") if uses_alpha_vantage else None,
        ),
        "run_sessions": run_sessions_resource(settings, clock),
        "alerts": AlertResource(
            webhook_url=dg.EnvVar("DUAL_TICKER_ALERT_WEBHOOK")
            if settings.endpoints.alert_webhook
            else None
        ),
        "settings": settings,
        "clock": clock,
    }


def build_definitions(settings: Settings, clock: Clock | None = None) -> dg.Definitions:
    """`clock` is what runs use for "now" (an untagged backfill ends there; the feeds judge
    freshness and request size by it): by default the settings' clock, so in replay mode the
    minute schedule and the runs read the same shared replay clock."""
    replay = settings.clock.mode == "replay"
    clock = clock or clock_from_settings(settings)
    schedule = build_minute_schedule(clock, replay, settings.feeds.delay_minutes)
    return dg.Definitions(
        assets=ASSETS,
        jobs=[minute_job],
        schedules=[schedule],
        sensors=[feed_failover_sensor, *ALERT_SENSORS],
        resources=build_resources(settings, clock),
        # One process, no per-step re-import; a range run records each chunk's sessions as it
        # commits (the minute job has its own, locked executor).
        executor=by_chunk_executor,
    )


defs = build_definitions(load_settings())
