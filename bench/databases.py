"""Databases on the benchmarks' embedded server: a URL per database, statements run in one
connection, and fresh databases (optionally copied from a template)."""

from __future__ import annotations

import time

import psycopg2


def with_database(url: str, name: str) -> str:
    base, _, query = url.partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")


def execute(url: str, statements, autocommit: bool = False) -> list:
    connection = psycopg2.connect(url)
    connection.autocommit = autocommit
    try:
        with connection.cursor() as cursor:
            results = []
            for statement in statements:
                cursor.execute(statement)
                results.append(cursor.fetchall() if cursor.description else None)
        if not autocommit:
            connection.commit()
        return results
    finally:
        connection.close()


def create_database(admin: str, name: str, template: str | None = None) -> str:
    statement = f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")
    for attempt in range(60):
        try:
            execute(admin, [statement], True)
            break
        except psycopg2.errors.ObjectInUse:  # autovacuum still on the template: a moment
            if attempt == 59:
                raise
            time.sleep(0.5)
    return with_database(admin, name)
