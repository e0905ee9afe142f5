"""Which PostgreSQL the project uses, how to connect to it, and the URL Dagster gets."""

from __future__ import annotations

import os
import re
import select
import threading
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, urlencode

import psycopg2
import psycopg2.extensions

from dual_ticker.storage import embedded

ACCEPTED_FORMS = (
    "postgresql://user:password@host:5432/dbname (also postgres://, postgresql+psycopg2://, "
    "postgresql+psycopg://) or libpq words like 'host=HOST port=5432 dbname=NAME user=USER'"
)
_URL_SCHEME = re.compile(
    r"^(postgres|postgresql|postgresql\+psycopg2|postgresql\+psycopg)://", re.I
)
_LIBPQ_WORD = re.compile(r"^\s*\w+\s*=")
_URL_PASSWORD = re.compile(r"(://[^:/@?#\s]*):[^\s?#]*@")
_QUERY_PASSWORD = re.compile(r"(?i)([?&]password=)[^&#\s]*")
_WORD_PASSWORD = re.compile(r"(?i)(?<![\w?&])(password\s*=\s*)('(?:[^'\\]|\\.)*'?|\S*)")
_PASSWORD_ONWARDS = re.compile(r"(?i)(password\s*=).*")  # unparsed: its end is unknown


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached; the message says which one and what to do."""


class UnsupportedDatabaseUrl(ValueError):
    """A connection string in none of the accepted forms; the message shows it redacted."""


def redact(text: str) -> str:
    """The text with any database password replaced (URL and key=value forms), safe for logs."""
    text = _URL_PASSWORD.sub(r"\1:***@", text)
    text = _QUERY_PASSWORD.sub(r"\1***", text)
    return _WORD_PASSWORD.sub(r"\1***", text)


def normalised_url(value: str) -> str:
    """The one `postgresql://` URL psycopg2, psql and (renamed by dagster_url) SQLAlchemy accept.

    SQLAlchemy's driver-qualified schemes and libpq key=value words are what people paste; libpq
    itself reads neither the first nor, in Dagster's storage, the second.
    """
    value = value.strip()
    scheme = _URL_SCHEME.match(value)
    try:
        if scheme:
            url = "postgresql://" + value[scheme.end() :]
            psycopg2.extensions.parse_dsn(url)
            return url
        if _LIBPQ_WORD.match(value):
            return _url_from_words(psycopg2.extensions.parse_dsn(value))
    except psycopg2.ProgrammingError:
        pass  # libpq's reason may quote part of a password: the message below stands alone
    shown = _PASSWORD_ONWARDS.sub(r"\1***", redact(value))
    raise UnsupportedDatabaseUrl(
        f"{shown!r} is not a PostgreSQL connection string; use {ACCEPTED_FORMS}"
    )


def _url_from_words(words: dict[str, str]) -> str:
    words = dict(words)
    user, password = words.pop("user", None), words.pop("password", None)
    credentials = quote(user or "", safe="")
    if password is not None:
        credentials += ":" + quote(password, safe="")
    netloc = f"{credentials}@" if credentials else ""
    host = words.get("host", "")
    # A unix-socket folder or a host list cannot sit in the URL's authority: it goes in ?host=.
    if host and not any(mark in host for mark in "/,@"):
        netloc += f"[{words.pop('host')}]" if ":" in host else words.pop("host")
        if words.get("port", "").isdigit():
            netloc += f":{words.pop('port')}"
    path = "/" + quote(words.pop("dbname"), safe="") if "dbname" in words else "/"
    query = urlencode(words, quote_via=quote, safe="/,")
    return f"postgresql://{netloc}{path}" + (f"?{query}" if query else "")


def resolve_url(database_url: str | None, home: Path) -> str:
    """The external URL when one is configured, else the embedded server (started if needed)."""
    if database_url:
        return database_url
    return embedded.running_url(home) or embedded.start(home)


def dagster_url(url: str) -> str:
    """dagster-postgres needs psycopg2 named explicitly: SQLAlchemy 2.1 would pick psycopg 3."""
    return "postgresql+psycopg2://" + normalised_url(url).removeprefix("postgresql://")


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


KEPT_CONNECTIONS = 4  # idle connections a process keeps for its next transactions


class _KeptConnections:
    """This process's idle connections, reused by `transaction`: a minute run opens about a
    dozen transactions, and a new connection costs more than most of their statements."""

    def __init__(self):
        self.lock = threading.Lock()
        self.idle: list[tuple[str, psycopg2.extensions.connection]] = []
        # A forked child must neither use nor close (PQfinish writes to the shared socket) what
        # its parent opened: kept referenced, never touched.
        self.inherited: list = []
        os.register_at_fork(after_in_child=self._forget_parents)

    def _forget_parents(self) -> None:
        self.lock = threading.Lock()
        self.inherited.extend(self.idle)
        self.idle = []

    def take(self, url: str) -> psycopg2.extensions.connection | None:
        while True:
            with self.lock:
                found = [i for i, (kept_url, _) in enumerate(self.idle) if kept_url == url]
                if not found:
                    return None
                _, connection = self.idle.pop(found[-1])  # the most recently used
            if _alive(connection):
                return connection
            connection.close()

    def give_back(self, url: str, connection: psycopg2.extensions.connection) -> None:
        if not _alive(connection):
            connection.close()
            return
        with self.lock:
            self.idle.append((url, connection))
            cut = max(0, len(self.idle) - KEPT_CONNECTIONS)
            surplus, self.idle = self.idle[:cut], self.idle[cut:]
        for _, connection in surplus:
            connection.close()


def _alive(connection: psycopg2.extensions.connection) -> bool:
    """Open, outside a transaction, and not written to by the server while idle: the server
    sends a closing notice when it terminates a connection (restart, pg_terminate_backend), and
    we never LISTEN, so anything readable on an idle connection means it is gone."""
    if connection.closed:
        return False
    if connection.get_transaction_status() != psycopg2.extensions.TRANSACTION_STATUS_IDLE:
        return False
    readable, _, _ = select.select([connection], [], [], 0)
    return not readable


_kept = _KeptConnections()


@contextmanager
def transaction(url: str, timeout_seconds: int = 5):
    """A connection whose work commits on success and rolls back on any error; the connection
    is kept for the process's next transaction on the same database (a new one waits up to
    `timeout_seconds` for the server)."""
    connection = _kept.take(url) or connect(url, timeout_seconds)
    try:
        with connection:
            yield connection
    finally:
        _kept.give_back(url, connection)


def savepoint(connection, name: str) -> None:
    """Marks a point of the open transaction that rollback_to returns to."""
    with connection.cursor() as cursor:
        cursor.execute(f"SAVEPOINT {name}")


def rollback_to(connection, name: str) -> None:
    """Undoes the transaction's work since savepoint(name); the transaction stays open."""
    with connection.cursor() as cursor:
        cursor.execute(f"ROLLBACK TO SAVEPOINT {name}")


def one_at_a_time(connection, key: int) -> None:
    """Waits until no other transaction holds `key`, then holds it until this one ends (a
    transaction-level advisory lock: freed by the commit or rollback, never left behind)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", (key,))
