"""`transaction` keeps its connection for the process's next transaction, and never hands out one
the server closed, one left inside a transaction, or one its parent process opened."""

from __future__ import annotations

import os

import psycopg2
import pytest

from dual_ticker.storage.database import transaction


def _backend(url: str) -> int:
    with transaction(url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _terminate(url: str, pid: int) -> None:
    """Ends the backend and waits until it is gone (pg_terminate_backend only signals it)."""
    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s, 10000)", (pid,))
        assert cursor.fetchone()[0]


def test_the_next_transaction_reuses_the_connection(database_url):
    assert _backend(database_url) == _backend(database_url)


def test_a_connection_the_server_closed_is_replaced(database_url):
    first = _backend(database_url)
    _terminate(database_url, first)
    with transaction(database_url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid(), 1")
        pid, one = cursor.fetchone()
    assert one == 1 and pid != first


def test_a_failed_transaction_rolls_back_and_leaves_a_clean_connection(database_url):
    with transaction(database_url) as connection, connection.cursor() as cursor:
        cursor.execute("CREATE TABLE kept_probe (x int)")
    with pytest.raises(psycopg2.errors.DivisionByZero):
        with transaction(database_url) as connection, connection.cursor() as cursor:
            cursor.execute("INSERT INTO kept_probe VALUES (1)")
            cursor.execute("SELECT 1 / 0")
    with transaction(database_url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM kept_probe")  # not "current transaction is aborted"
        assert cursor.fetchone()[0] == 0


def test_a_forked_child_opens_its_own_connection(database_url):
    parent = _backend(database_url)
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child: its own connection, and the parent's is left untouched
        try:
            os.write(write, str(_backend(database_url)).encode())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    child_backend = int(os.read(read, 32))
    os.close(read)
    assert child_backend != parent
    assert _backend(database_url) == parent  # still alive after the child exited
