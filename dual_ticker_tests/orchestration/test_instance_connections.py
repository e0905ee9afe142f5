"""Dagster's storage keeps its connections (no new connection per event) and replaces one the
server dropped while it sat idle, without checking every checkout."""

from __future__ import annotations

import gc

import dagster as dg
import psycopg2

from dual_ticker.orchestration import instance as project_instance
from dual_ticker.orchestration.instance import ProjectPostgresStorage


def _storage(monkeypatch, database_url, test_home) -> ProjectPostgresStorage:
    monkeypatch.setenv("DUAL_TICKER_DATABASE_URL", database_url)
    monkeypatch.setenv("DUAL_TICKER_HOME", str(test_home))
    return ProjectPostgresStorage.from_config_value(None, {"should_autocreate_tables": True})


def _drop_other_connections(database_url) -> int:
    with psycopg2.connect(database_url) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND backend_type = 'client backend'"  # not TimescaleDB's job scheduler
        )
        return cursor.fetchone()[0]


def test_a_connection_dropped_while_idle_is_replaced(monkeypatch, database_url, test_home):
    storage = _storage(monkeypatch, database_url, test_home)
    assert storage.run_storage.get_runs() == []
    assert _drop_other_connections(database_url) >= 1  # the kept connection, killed idle

    monkeypatch.setattr(project_instance, "IDLE_PING_SECONDS", 0.0)  # it has been idle "long"
    assert storage.run_storage.get_runs() == []


def test_a_busy_connection_is_kept_not_reopened(monkeypatch, database_url, test_home):
    storage = _storage(monkeypatch, database_url, test_home)
    storage.run_storage.get_runs()
    engine = storage.run_storage._engine
    opened = engine.pool.checkedin() + engine.pool.checkedout()
    for _ in range(20):
        storage.run_storage.get_runs()
    assert engine.pool.checkedin() + engine.pool.checkedout() == opened == 1


def _connections(database_url) -> int:
    with psycopg2.connect(database_url) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND backend_type = 'client backend'"  # not TimescaleDB's job scheduler
        )
        return cursor.fetchone()[0]


def test_instances_a_process_drops_close_their_connections(monkeypatch, database_url, test_home):
    """The code server opens an instance per sensor evaluation: the ones it is done with must not
    keep their connections (the embedded server's 100 ran out within 20 minutes of ticks)."""
    for _ in range(12):
        storage = _storage(monkeypatch, database_url, test_home)
        storage.run_storage.get_runs()
        del storage
    gc.collect()
    assert _connections(database_url) <= 3  # at most the last instance's, not one per instance


def test_a_disposed_instance_closes_its_connections(monkeypatch, database_url, test_home, tmp_path):
    """What the code server does with the instance of each sensor evaluation: dispose of it. Its
    kept connections close then, not whenever the garbage collector gets to them."""
    monkeypatch.setenv("DUAL_TICKER_DATABASE_URL", database_url)
    monkeypatch.setenv("DUAL_TICKER_HOME", str(test_home))
    (tmp_path / "dagster.yaml").write_text(
        "storage:\n  custom:\n    module: dual_ticker.orchestration.instance\n"
        "    class: ProjectPostgresStorage\n"
    )
    instance = dg.DagsterInstance.from_config(str(tmp_path))
    instance.get_runs()
    instance.get_latest_materialization_event(dg.AssetKey("raw_bars"))
    instance.all_instigator_state()
    assert _connections(database_url) >= 1
    instance.dispose()
    assert _connections(database_url) == 0  # the instance itself is still referenced here
