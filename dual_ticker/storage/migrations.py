"""Applies the ordered SQL files in sql/ once each, recorded in a ledger, under a lock."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from dual_ticker.settings import PROJECT_ROOT
from dual_ticker.storage import timescale
from dual_ticker.storage.database import connect

SQL_DIR = PROJECT_ROOT / "sql"
TIMESCALEDB_DIR = "timescaledb"  # applied only where the extension is available
_LOCK_KEY = 0x6475616C  # "dual": one migrator at a time across processes
_log = logging.getLogger(__name__)
NOT_PRELOADED = (
    "TimescaleDB is installed on this PostgreSQL but not preloaded: add timescaledb to "
    "shared_preload_libraries in postgresql.conf and restart the server"
)

_LEDGER = """
CREATE TABLE IF NOT EXISTS dual_ticker_migrations (
    name TEXT PRIMARY KEY,
    checksum TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)
"""


class MigrationError(RuntimeError):
    pass


def migration_files(sql_dir: Path = SQL_DIR) -> list[Path]:
    return sorted(path for path in sql_dir.glob("*.sql") if path.name[:4].isdigit())


def _checksum(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def apply_migrations(url: str, sql_dir: Path = SQL_DIR) -> list[str]:
    """Applies pending migrations in name order, each in its own transaction; returns their names.

    Then, where the timescaledb extension is available, the files of sql/timescaledb/.
    """
    applied_now: list[str] = []
    connection = connect(url)
    try:
        _refuse_unloadable_timescaledb(connection)  # before any DDL: that would load it
        with connection, connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
            cursor.execute(_LEDGER)
        try:
            for path in migration_files(sql_dir):
                if _apply_one(connection, path):
                    applied_now.append(path.name)
            if timescaledb_available(connection):
                for path in migration_files(sql_dir / TIMESCALEDB_DIR):
                    if _apply_timescaledb(connection, path):
                        applied_now.append(f"{TIMESCALEDB_DIR}/{path.name}")
        finally:
            with connection, connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
    finally:
        connection.close()
    return applied_now


def _apply_one(connection, path: Path) -> bool:
    checksum = _checksum(path)
    with connection, connection.cursor() as cursor:
        cursor.execute("SELECT checksum FROM dual_ticker_migrations WHERE name = %s", (path.name,))
        row = cursor.fetchone()
        if row is not None:
            if row[0] != checksum:
                raise MigrationError(
                    f"sql/{path.name} changed after it was applied; restore it and add a new migration"
                )
            return False
        try:
            cursor.execute(path.read_text())
        except Exception as exc:
            raise MigrationError(
                f"sql/{path.name} failed: {str(exc).strip().splitlines()[0]}"
            ) from exc
        cursor.execute(
            "INSERT INTO dual_ticker_migrations (name, checksum) VALUES (%s, %s)",
            (path.name, checksum),
        )
    return True


def timescaledb_available(connection) -> bool:
    """Whether the server can run TimescaleDB: installed and preloaded. Installed but not
    preloaded (what a package install leaves), CREATE EXTENSION would end the connection: the
    database then runs as plain PostgreSQL with a warning (one that already holds the extension
    was refused before, by _refuse_unloadable_timescaledb, with the one line that says what to
    set)."""
    with connection, connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")
        if cursor.fetchone() is None:
            return False
        if _preloaded(cursor):
            return True
    _log.warning("%s; running as plain PostgreSQL meanwhile", NOT_PRELOADED)
    return False


def _preloaded(cursor) -> bool:
    cursor.execute("SHOW shared_preload_libraries")
    return "timescaledb" in cursor.fetchone()[0]


def _refuse_unloadable_timescaledb(connection) -> None:
    """A database holding the extension on a server that no longer preloads it: the server ends
    the connection on the first DDL, so this is said first, in one line."""
    with connection, connection.cursor() as cursor:
        if timescale.enabled(connection) and not _preloaded(cursor):
            raise MigrationError(f"{NOT_PRELOADED} (this database uses its hypertables)")


def timescaledb_statements(path: Path) -> list[str]:
    """The statements of a sql/timescaledb file, one by one (some cannot run in a transaction)."""
    import pglast

    return list(pglast.split(path.read_text()))


def _apply_timescaledb(connection, path: Path) -> bool:
    name = f"{TIMESCALEDB_DIR}/{path.name}"
    with connection, connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM dual_ticker_migrations WHERE name = %s", (name,))
        if cursor.fetchone() is not None:
            return False
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
            for statement in timescaledb_statements(path):
                cursor.execute(statement)  # each statement is idempotent (IF NOT EXISTS)
            cursor.execute(
                "INSERT INTO dual_ticker_migrations (name, checksum) VALUES (%s, %s)",
                (name, _checksum(path)),
            )
    except Exception as exc:
        raise MigrationError(f"sql/{name} failed: {str(exc).strip().splitlines()[0]}") from exc
    finally:
        connection.autocommit = False
    return True


def timescaledb_enabled(url: str) -> bool:
    connection = connect(url)
    try:
        return timescale.enabled(connection)
    finally:
        connection.close()
