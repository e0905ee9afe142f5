"""feed_failover_sensor: keeps the active feed. Away from the primary after repeated failures,
probes it while on the fallback, back after repeated healthy probes; one alert per switch."""

import dagster as dg
import pandas as pd

from dual_ticker.clock import Clock
from dual_ticker.feeds.base import FeedError
from dual_ticker.feeds.failover import fetch_with_failover
from dual_ticker.feeds.feed_switch import Switch, after_probe, after_requests, probe_due
from dual_ticker.monitoring.alerts import raise_alert
from dual_ticker.orchestration.resources import DatabaseResource, FeedResource
from dual_ticker.orchestration.sensors.alerts import AlertResource
from dual_ticker.settings import Settings
from dual_ticker.storage import feed_health

PROBE_WINDOW = pd.Timedelta(minutes=5)


def probe(
    feeds: FeedResource, settings: Settings, clock: Clock, database: DatabaseResource
) -> bool:
    """One small live request to the primary, recorded like any other request."""
    client = feeds.client(feeds.primary, settings, clock)
    symbol, now = settings.data.symbols[0], clock.now()
    latest = now - pd.Timedelta(minutes=settings.feeds.delay_minutes)  # a delayed key's newest
    attempts: list[tuple] = []
    try:
        fetch_with_failover(
            symbol,
            latest - PROBE_WINDOW,
            latest,
            latest,
            [client],
            lambda *a, log=attempts: log.append(a),
        )
        healthy = True
    except FeedError:
        healthy = False
    with database.transaction() as connection:
        feed_health.record_requests(connection, attempts, "probe")
    return healthy


def evaluate_failover(
    database: DatabaseResource,
    feeds: FeedResource,
    settings: Settings,
    clock: Clock,
    alerts: AlertResource,
) -> Switch | None:
    """One evaluation: returns the switch it made, if any (the alert is stored and posted)."""
    primary, config = feeds.primary, settings.feeds
    with database.transaction() as connection:
        state = feed_health.load_state(connection, primary)
        outcomes = feed_health.recent_outcomes(connection, primary, config.failover_after_failures)
        state, switch = after_requests(
            state, primary, feeds.fallback, outcomes, config.failover_after_failures
        )
        feed_health.save_state(connection, state)
    if switch is None and probe_due(state, primary, clock.now(), config.probe_interval_seconds):
        healthy = probe(feeds, settings, clock, database)
        with database.transaction() as connection:
            state = feed_health.load_state(connection, primary)
            state, switch = after_probe(
                state, primary, healthy, config.failback_after_probes, clock.now()
            )
            feed_health.save_state(connection, state)
    if switch is not None:
        with database.transaction() as connection:
            raise_alert(
                connection, "feed_switch", f"feed_switch:{switch.number}", "WARN", switch.message
            )
        alerts.deliver(database.connection_url())
    return switch


@dg.sensor(
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Switches the active feed after repeated primary failures and back after healthy probes.",
)
def feed_failover_sensor(
    context: dg.SensorEvaluationContext,
    database: DatabaseResource,
    feeds: FeedResource,
    settings: dg.ResourceParam[Settings],
    clock: dg.ResourceParam[Clock],
    alerts: AlertResource,
):
    if feeds.fallback is None:
        return dg.SkipReason("no fallback feed configured: nothing to fail over to")
    switch = evaluate_failover(database, feeds, settings, clock, alerts)
    return dg.SkipReason(switch.message if switch else "active feed unchanged")
