"""Which PostgreSQL the project uses, how to connect to it, and the URL Dagster gets."""

from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path

import psycopg2
import psycopg2.extensions

from dual_ticker.storage import embedded


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached; the message says which one and what to do."""


def redact(url: str) -> str:
    """The URL with any password replaced, safe for logs and errors."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def resolve_url(database_url: str | None, home: Path) -> str:
    """The external URL when one is configured, else the embedded server (started if needed)."""
    if database_url:
        return database_url
    return embedded.running_url(home) or embedded.start(home)


def dagster_url(url: str) -> str:
    """dagster-postgres needs psycopg2 named explicitly: SQLAlchemy 2.1 would pick psycopg 3."""
    return re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql+psycopg2://", url)


def connect(url: str, timeout_seconds: int = 5) -> psycopg2.extensions.connection:
    try:
        return psycopg2.connect(
            url, connect_timeout=timeout_seconds, application_name="dual_ticker"
        )
    except psycopg2.OperationalError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else "no answer"
        raise DatabaseUnavailable(
            f"database unreachable at {redact(url)}: {reason}; start it (make db-start) "
            "or fix DUAL_TICKER_DATABASE_URL"
        ) from None


@contextmanager
def transaction(url: str):
    """A connection whose work commits on success and rolls back on any error."""
    connection = connect(url)
    try:
        with connection:
            yield connection
    finally:
        connection.close()
