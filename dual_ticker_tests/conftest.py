"""Shared fixtures: a private DUAL_TICKER_HOME with its embedded PostgreSQL, fresh databases."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import dagster as dg
import pytest

from dual_ticker.settings import load_settings
from dual_ticker.storage import embedded
from dual_ticker.storage.database import dagster_url
from dual_ticker.storage.migrations import apply_migrations
from dual_ticker_tests.support.databases import admin_url, fresh_database, server_kinds

SERVER_KINDS = server_kinds()


@pytest.fixture(scope="session")
def test_home() -> Path:
    """A DUAL_TICKER_HOME of the test session; its embedded server is stopped at the end.

    A private folder, not pytest's tmp_path: pytest prunes old basetemp folders, which would
    delete a concurrently running session's database.
    """
    home = Path(
        os.environ.get("DUAL_TICKER_TEST_HOME") or tempfile.mkdtemp(prefix="dual_ticker_test_home_")
    )
    yield home
    embedded.stop(home)
    if "DUAL_TICKER_TEST_HOME" not in os.environ:
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def own_server_home() -> Path:
    """A home for an embedded server of the test's own (one the test stops and starts).

    Not pytest's tmp_path: every pytest session that starts resets /tmp/pytest-of-<user> to 0700,
    which locks the server's system user (as root) out of its data folder mid-test.
    """
    home = Path(tempfile.mkdtemp(prefix="dual_ticker_own_server_"))
    yield home
    embedded.stop(home)
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(params=SERVER_KINDS)
def server_kind(request) -> str:
    return request.param


@pytest.fixture
def empty_database(server_kind, test_home) -> str:
    """The URL of a new, empty database (dropped after the test), on each available server."""
    with fresh_database(admin_url(server_kind, test_home)) as url:
        yield url


@pytest.fixture
def database_url(empty_database) -> str:
    """A new database with every migration applied."""
    apply_migrations(empty_database)
    return empty_database


@pytest.fixture
def embedded_database(test_home) -> str:
    """A new migrated database on the embedded server only (for slower end-to-end tests)."""
    with fresh_database(admin_url("embedded", test_home)) as url:
        apply_migrations(url)
        yield url


def require_timescaledb() -> None:
    """TimescaleDB tests need `make timescaledb`: under CI (which builds it) its absence fails
    them; elsewhere they are reported as not run."""
    if embedded.timescaledb_built():
        return
    message = "TimescaleDB is not built into the embedded PostgreSQL: run make timescaledb"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def timescale_database(test_home) -> str:
    """A new migrated database on the embedded server with TimescaleDB (the extension created)."""
    require_timescaledb()
    with fresh_database(admin_url("embedded", test_home)) as url:
        apply_migrations(url)
        yield url


@pytest.fixture
def settings(monkeypatch, test_home):
    """The dev settings, as a test would see them with a clean environment."""
    environ = {"DUAL_TICKER_HOME": str(test_home)}
    return load_settings(environ)


@pytest.fixture
def dagster_instance(embedded_database):
    """A Dagster instance whose run and event storage is the test database (as in production)."""
    with dg.instance_for_test(
        overrides={"storage": {"postgres": {"postgres_url": dagster_url(embedded_database)}}}
    ) as instance:
        yield instance
