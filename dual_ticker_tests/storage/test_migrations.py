"""Migrations: ordered, applied once, idempotent, guarded against edits; the same schema on plain
PostgreSQL and (sql/timescaledb/ on top) on TimescaleDB."""

import shutil

import psycopg2
import pytest

from dual_ticker.storage.database import connect
from dual_ticker.storage.migrations import (
    SQL_DIR,
    TIMESCALEDB_DIR,
    MigrationError,
    apply_migrations,
    migration_files,
    timescaledb_available,
    timescaledb_enabled,
    timescaledb_statements,
)


def _server_runs_timescaledb(url) -> bool:
    connection = connect(url)
    try:
        return timescaledb_available(connection)
    finally:
        connection.close()


def _columns(url, table):
    connection = psycopg2.connect(url)
    with connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name, data_type, numeric_precision, numeric_scale FROM information_schema.columns "
            "WHERE table_name = %s ORDER BY ordinal_position",
            (table,),
        )
        rows = cursor.fetchall()
    connection.close()
    return rows


def test_migrations_apply_once_and_are_idempotent(empty_database):
    applied = apply_migrations(empty_database)
    expected = [path.name for path in migration_files()]
    if _server_runs_timescaledb(empty_database):
        expected += [
            f"{TIMESCALEDB_DIR}/{path.name}" for path in migration_files(SQL_DIR / TIMESCALEDB_DIR)
        ]
    assert applied == expected
    assert apply_migrations(empty_database) == []
    # Each file is idempotent on its own too: running them again by hand changes nothing.
    connection = psycopg2.connect(empty_database)
    with connection, connection.cursor() as cursor:
        for path in migration_files():
            cursor.execute(path.read_text())
        cursor.execute("SELECT symbol FROM current_positions ORDER BY symbol")
        assert [r[0] for r in cursor.fetchall()] == ["MSFT", "NVDA"]
        cursor.execute("SELECT count(*) FROM dual_ticker_migrations")
        assert cursor.fetchone()[0] == len(expected)
    connection.close()


def test_contract_columns_and_types(database_url):
    columns = _columns(database_url, "dual_ticker_bars")
    assert [c[0] for c in columns] == [
        "timestamp",
        "symbol",
        "open",
        "high",
        "low",
        "close",
        "volume",
        "rsi",
        "ema_short",
        "ema_long",
        "vwap",
        "hour_sin",
        "hour_cos",
        "minute_sin",
        "minute_cos",
        "data_source",
        "created_at",
    ]
    types = {c[0]: c[1:] for c in columns}
    assert types["timestamp"][0] == "timestamp with time zone"
    assert types["close"] == ("numeric", 12, 4)
    assert types["volume"][0] == "bigint"
    assert types["rsi"][0] == "double precision"
    assert [c[0] for c in _columns(database_url, "current_positions")] == [
        "id",
        "symbol",
        "qty",
        "avg_price",
        "market_value",
        "unrealized_pnl",
        "last_updated",
    ]


def test_seed_insert_works_with_defaults(database_url):
    connection = psycopg2.connect(database_url)
    with connection, connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO dual_ticker_bars (timestamp, symbol, open, high, low, close, volume, rsi, ema_short, "
            "ema_long, vwap, hour_sin, hour_cos, minute_sin, minute_cos) VALUES "
            "('2020-12-01 14:30+00', 'NVDA', 1, 2, 0.5, 1.5, 100, 50, 1, 1, 1, 0, 1, 0, 1)"
        )
        cursor.execute("SELECT data_source, created_at IS NOT NULL FROM dual_ticker_bars")
        assert cursor.fetchone() == ("unknown", True)
    connection.close()


def test_the_extension_is_created_exactly_where_the_server_runs_timescaledb(database_url):
    assert timescaledb_enabled(database_url) == _server_runs_timescaledb(database_url)


def test_an_applied_migration_that_changed_is_refused(empty_database, tmp_path):
    sql = tmp_path / "sql"
    shutil.copytree(SQL_DIR, sql)
    apply_migrations(empty_database, sql)
    (sql / "0002_dual_ticker_bars.sql").write_text(
        "-- edited\n" + (sql / "0002_dual_ticker_bars.sql").read_text()
    )
    with pytest.raises(
        MigrationError, match="0002_dual_ticker_bars.sql changed after it was applied"
    ):
        apply_migrations(empty_database, sql)


def test_a_failing_migration_leaves_nothing_half_applied(empty_database, tmp_path):
    sql = tmp_path / "sql"
    shutil.copytree(SQL_DIR, sql)
    (sql / "9999_broken.sql").write_text(
        "CREATE TABLE half_done (x int);\nSELECT no_such_function();\n"
    )
    with pytest.raises(MigrationError, match="9999_broken.sql failed"):
        apply_migrations(empty_database, sql)
    connection = psycopg2.connect(empty_database)
    with connection, connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('half_done')")
        assert cursor.fetchone()[0] is None
    connection.close()


def test_timescaledb_files_are_skipped_cleanly_without_the_extension(database_url):
    if _server_runs_timescaledb(database_url):
        pytest.skip("this server runs TimescaleDB: storage/test_timescaledb.py covers it")
    connection = psycopg2.connect(database_url)
    with connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM dual_ticker_migrations WHERE name LIKE 'timescaledb/%'"
        )
        assert cursor.fetchone()[0] == 0
        cursor.execute("SELECT to_regproc('create_hypertable')")
        assert cursor.fetchone() == (None,)
        cursor.execute("SELECT count(*) FROM pg_views WHERE viewname LIKE 'dual_ticker_bars\\_%'")
        assert cursor.fetchone()[0] == 4  # the coarse bars as plain views
    connection.close()


def test_timescaledb_files_parse_and_cover_hypertables_compression_and_aggregates():
    import pglast

    files = migration_files(SQL_DIR / TIMESCALEDB_DIR)
    statements = [s for path in files for s in timescaledb_statements(path)]
    for statement in statements:
        assert len(pglast.parse_sql(statement)) == 1, statement
    text = "\n".join(statements)
    for needle in (
        "create_hypertable('raw_bars'",
        "create_hypertable('dual_ticker_bars'",
        "add_compression_policy('raw_bars'",
        "add_compression_policy('dual_ticker_bars'",
        "remove_retention_policy('raw_bars'",
        "timescaledb.continuous",
        *(f"MATERIALIZED VIEW dual_ticker_bars_{level}" for level in ("5m", "15m", "1h", "1d")),
    ):
        assert needle in text, needle
    # No policy the migrations add ever drops a bar: retention exists only where configured.
    assert "add_retention_policy" not in text


def test_every_unique_key_of_the_bar_tables_includes_timestamp(database_url):
    connection = psycopg2.connect(database_url)
    with connection, connection.cursor() as cursor:
        cursor.execute(
            """SELECT c.conrelid::regclass::text, array_agg(a.attname::text)
               FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)
               WHERE c.contype IN ('p', 'u') AND c.conrelid::regclass::text IN ('raw_bars', 'dual_ticker_bars')
               GROUP BY c.oid, c.conrelid"""
        )
        keys = cursor.fetchall()
    connection.close()
    assert {table for table, _ in keys} == {"raw_bars", "dual_ticker_bars"}
    assert all("timestamp" in columns for _, columns in keys)
