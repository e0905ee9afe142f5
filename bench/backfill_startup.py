"""What the backfill command pays before any data moves, each part timed alone in a fresh process:
importing Dagster, importing the code location, opening the Dagster instance of the checkout's
dagster.yaml on a fresh database (which creates Dagster's tables), and the project's migrations.

    python -m bench.backfill_startup URL     (cwd: the checkout; prints one JSON line)"""

from __future__ import annotations

import json
import os
import sys
import time


def main(url: str) -> None:
    parts, began = {}, time.perf_counter()

    def mark(name: str) -> None:
        nonlocal began
        now = time.perf_counter()
        parts[name] = round(now - began, 2)
        began = now

    import dagster  # noqa: F401
    from dagster._cli.utils import get_possibly_temporary_instance_for_cli

    mark("import dagster")
    import dual_ticker.definitions  # noqa: F401

    mark("import the code location (dual_ticker.definitions)")
    os.environ["DUAL_TICKER_DATABASE_URL"] = url
    with get_possibly_temporary_instance_for_cli("the benchmark"):  # as the CLI opens it
        mark("Dagster instance on a fresh database (its tables created)")
    from dual_ticker.storage.migrations import apply_migrations

    began = time.perf_counter()
    apply_migrations(url)
    mark("project migrations on the fresh database")
    print(json.dumps(parts))


if __name__ == "__main__":
    main(sys.argv[1])
