"""Test databases: a fresh database per test on each server the tests run on, dropped afterwards:

- `embedded`: the embedded PostgreSQL 18, with TimescaleDB preloaded where `make timescaledb`
  built it (CI always does);
- `local`: the machine's plain PostgreSQL at 127.0.0.1:5432, when one answers there;
- `external`: DUAL_TICKER_TEST_DATABASE_URL, any server of the operator's (its database is the
  admin database new ones are made from)."""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from pathlib import Path

import psycopg2

from dual_ticker.storage import embedded

LOCAL_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
EXTERNAL_VARIABLE = "DUAL_TICKER_TEST_DATABASE_URL"


def server_kinds() -> list[str]:
    """The servers this test session runs the database tests on."""
    kinds = ["embedded"]
    if local_server_answers():
        kinds.append("local")
    if os.environ.get(EXTERNAL_VARIABLE):
        kinds.append("external")
    return kinds


def local_server_answers() -> bool:
    try:
        psycopg2.connect(LOCAL_SERVER, connect_timeout=2).close()
        return True
    except psycopg2.OperationalError:
        return False


def _with_database(url: str, name: str) -> str:
    base, _, query = url.partition("?")
    server = base.rsplit("/", 1)[0]
    return f"{server}/{name}" + (f"?{query}" if query else "")


def admin_url(kind: str, home: Path) -> str:
    if kind == "local":
        return LOCAL_SERVER
    if kind == "external":
        from dual_ticker.storage.database import normalised_url

        return normalised_url(os.environ[EXTERNAL_VARIABLE])
    return _with_database(embedded.start(home), "postgres")


@contextmanager
def fresh_database(admin: str):
    """Creates a uniquely named database, yields its URL, drops it (even if connections linger)."""
    name = f"dt_test_{uuid.uuid4().hex[:12]}"
    _admin_statement(admin, f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(admin, name)
    finally:
        # A new connection: the server may have been restarted by the test.
        _admin_statement(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _admin_statement(admin: str, statement: str) -> None:
    connection = psycopg2.connect(admin)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(statement)
    finally:
        connection.close()


def autocommit(url: str, *statements) -> list:
    """Runs the statements outside a transaction (TimescaleDB's jobs, compression, ALTER SYSTEM);
    returns the last one's rows, if it has any."""
    connection = psycopg2.connect(url)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
            return cursor.fetchall() if cursor.description else []
    finally:
        connection.close()
