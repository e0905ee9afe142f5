"""How runs reach the warm run workers: dagster-celery's CeleryRunLauncher on the project's broker.

dagster.yaml names `RunWorkerLauncher`. The broker is DUAL_TICKER_RUN_BROKER_URL (Redis in
production), else kombu's SQLAlchemy transport on the project's PostgreSQL, polled every 0.1 s,
so the embedded default needs nothing beyond the lock file.
"""

from __future__ import annotations

import kombu.transport
from dagster import Field
from dagster_celery.launcher import CeleryRunLauncher
from kombu.transport import sqlalchemy as kombu_sqlalchemy

from dual_ticker.settings import Settings, load_settings
from dual_ticker.storage.database import dagster_url, resolve_url

RUN_QUEUE = "dagster"
RUN_WORKER_TAG = "dual_ticker/run_worker"  # host and pid of the warm worker that ran the run
POLLING_SECONDS = 0.1


class PollingDatabaseTransport(kombu_sqlalchemy.Transport):
    """kombu's SQLAlchemy transport polling every 0.1 s (its default is 1 s, and a
    `polling_interval` transport option would reach create_engine, which rejects it)."""

    polling_interval = POLLING_SECONDS


kombu.transport.TRANSPORT_ALIASES["dtsqla"] = f"{__name__}:PollingDatabaseTransport"


def broker_urls(settings: Settings) -> tuple[str, str]:
    """(broker, result backend) of the run workers."""
    if settings.endpoints.run_broker_url:
        return settings.endpoints.run_broker_url, settings.endpoints.run_broker_url
    url = dagster_url(resolve_url(settings.database_url, settings.home))
    return f"dtsqla+{url}", f"db+{url}"


def celery_settings() -> dict:
    """What the launcher's app and the workers' app share beyond the URLs."""
    return {
        "worker_prefetch_multiplier": 1,  # a waiting run stays in the queue for any free worker
        "broker_connection_retry_on_startup": True,
        "result_expires": 3600 * 24,
    }


def app_arguments(settings: Settings) -> dict:
    broker, backend = broker_urls(settings)
    return {
        "broker": broker,
        "backend": backend,
        "include": [],
        "config_source": celery_settings(),
        "task_default_queue": RUN_QUEUE,
    }


class RunWorkerLauncher(CeleryRunLauncher):
    """CeleryRunLauncher whose broker comes from the project's settings, not from dagster.yaml."""

    @classmethod
    def config_type(cls):
        return {"default_queue": Field(str, is_required=False, default_value=RUN_QUEUE)}

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        arguments = app_arguments(load_settings())
        return cls(
            inst_data=inst_data,
            default_queue=config_value.get("default_queue", RUN_QUEUE),
            broker=arguments["broker"],
            backend=arguments["backend"],
            include=arguments["include"],
            config_source=arguments["config_source"],
        )
