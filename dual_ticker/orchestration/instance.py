"""Dagster's own storage (runs, events, schedules) in the project's PostgreSQL.

dagster.yaml names this class, so every Dagster process (webserver, daemon, CLI, run workers)
finds the same server the assets use: DUAL_TICKER_DATABASE_URL when set, else the embedded one
(started if needed). It also sets how Dagster writes its events, since a year's backfill writes
about 2,000 of them: measured in docs/BENCHMARKS.md.
"""

from __future__ import annotations

import os
import time
import weakref

from dagster import Field
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable
from dagster._record import copy
from dagster._serdes import serialize_value
from dagster_postgres import (
    DagsterPostgresStorage,
    PostgresEventLogStorage,
    PostgresRunStorage,
    PostgresScheduleStorage,
)
from sqlalchemy import create_engine, event, exc, text

from dual_ticker.settings import load_settings
from dual_ticker.storage.database import dagster_url, resolve_url

# Dagster's own switches (read where events are written): materialization and planned events of
# a step or a run go to storage as one batch insert instead of one connection and insert each,
# and a single-run backfill plans one event per asset instead of one per asset and partition.
EVENT_WRITES = {
    "DAGSTER_EVENT_BATCH_SIZE": "1000",
    "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "true",
}


def _pooled(storage, url: str) -> None:
    """dagster-postgres opens a new connection per statement (NullPool): about 4 ms each, paid
    for every event. One kept connection per process (more under concurrency) instead; a forked
    child (a Celery run worker) drops its parent's connections without closing them."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=8)
    _ping_when_idle(engine)
    _ENGINES.add(engine)
    storage._engine = engine


# Weakly held: the code server opens an instance per sensor evaluation, and a hook holding each
# engine would keep its connection open for good (the server ran out of connections in 20 min).
_ENGINES: weakref.WeakSet = weakref.WeakSet()


def _drop_parents_engines() -> None:
    for engine in list(_ENGINES):
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_drop_parents_engines)


IDLE_PING_SECONDS = 10.0


def _ping_when_idle(engine) -> None:
    """A kept connection idle for a while (between minute runs, after a database restart) is
    checked with one round trip before use; a dead one is replaced. SQLAlchemy's pool_pre_ping
    would check it on every checkout: about 170 extra round trips in each minute run."""

    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_connection, record) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, proxy) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < IDLE_PING_SECONDS:
            return
        try:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except Exception as error:  # the pool retries the checkout on a new connection
            raise exc.DisconnectionError(f"kept connection is gone: {error}") from error


class _KeptEngine:
    """A dagster-postgres storage whose kept connections close when Dagster disposes of its
    instance (the stock parts have nothing to close: they connect per statement)."""

    def dispose(self) -> None:
        super().dispose()
        self._engine.dispose()


class ProjectRunStorage(_KeptEngine, PostgresRunStorage):
    pass


class ProjectEventLogStorage(_KeptEngine, PostgresEventLogStorage):
    """dagster-postgres's event log, with a check's planned executions over many partitions
    written with the event serialized once (Dagster serializes it again for every partition:
    7 checks x 252 sessions of a year's backfill cost seconds before the run starts)."""

    def _store_asset_check_evaluation_planned(self, event, event_id) -> None:
        planned = event.dagster_event.event_specific_data
        keys = (
            planned.partitions_subset.get_partition_keys() if planned.partitions_subset else [None]
        )
        # Each partition's row holds the planned event without the run's partition list (the
        # row names its partition; the whole event is in the event log, at event_id), written in
        # one statement. Stock, every row held the whole event (27 kB for a year of sessions):
        # 7 checks x 252 sessions cost 1.3 s before the run started, and five years' raised the
        # run's RSS by about 130 MB.
        slim = event._replace(
            dagster_event=event.dagster_event._replace(
                event_specific_data=copy(planned, partitions_subset=None)
            )
        )
        with self.index_connection() as conn:
            conn.execute(
                text(
                    f"""INSERT INTO {AssetCheckExecutionsTable.name} (asset_key, check_name,
                            partition, run_id, execution_status, evaluation_event,
                            evaluation_event_timestamp, evaluation_event_storage_id)
                        SELECT :asset_key, :check_name, p, :run_id, :status, :event, :at, :event_id
                        FROM unnest(CAST(:partitions AS text[])) AS p"""
                ),
                {
                    "asset_key": planned.asset_key.to_string(),
                    "check_name": planned.check_name,
                    "run_id": event.run_id,
                    "status": AssetCheckExecutionRecordStatus.PLANNED.value,
                    "event": serialize_value(slim),
                    "at": self._event_insert_timestamp(event),
                    "event_id": event_id,
                    "partitions": keys,
                },
            )


class ProjectPostgresStorage(DagsterPostgresStorage):
    def __init__(self, postgres_url: str, should_autocreate_tables: bool = True, inst_data=None):
        # The project's parts in place of the stock ones (not built and then replaced).
        self.postgres_url = postgres_url
        self.should_autocreate_tables = should_autocreate_tables
        self._inst_data = inst_data
        self._run_storage = ProjectRunStorage(postgres_url, should_autocreate_tables)
        self._event_log_storage = ProjectEventLogStorage(postgres_url, should_autocreate_tables)
        # Connects per statement as shipped: Dagster never disposes of the schedule storage, so a
        # kept connection would outlive each instance the code server opens; it is little used.
        self._schedule_storage = PostgresScheduleStorage(postgres_url, should_autocreate_tables)
        super(DagsterPostgresStorage, self).__init__()

    @classmethod
    def config_type(cls):
        return {"should_autocreate_tables": Field(bool, is_required=False, default_value=True)}

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        for name, value in EVENT_WRITES.items():
            os.environ.setdefault(name, value)
        settings = load_settings()
        url = dagster_url(resolve_url(settings.database_url, settings.home))
        autocreate = config_value.get("should_autocreate_tables", True)
        storage = cls(postgres_url=url, should_autocreate_tables=autocreate, inst_data=inst_data)
        for part in (storage.run_storage, storage.event_log_storage):
            _pooled(part, url)
        return storage
