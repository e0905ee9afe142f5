"""Command line of the project: `python -m dual_ticker run | db start|stop|status | dagster ARGS`."""

from __future__ import annotations

import argparse
import os
import sys

from dual_ticker.settings import ConfigError, load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dual_ticker", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="start the database, Dagster and the sidecar (make run)")
    run.add_argument("--ui-port", type=int, default=3000)
    run.add_argument(
        "--replay-start",
        metavar="MOMENT",
        help="replay the recordings as if live from this moment, e.g. '2020-12-18 10:00' (New York)",
    )
    run.add_argument(
        "--speed", type=float, help="recorded minutes per wall minute in replay (default 1)"
    )
    database = commands.add_parser("db", help="the embedded PostgreSQL")
    database.add_argument("action", choices=["start", "stop", "status"])
    commands.add_parser(
        "dagster", help="run the dagster CLI against the project's instance", add_help=False
    )
    args, rest = parser.parse_known_args(argv)
    if args.command == "run":
        # Through the environment, so every process of the stack builds the same replay clock.
        if args.replay_start:
            os.environ["DUAL_TICKER_REPLAY_START"] = args.replay_start
        if args.speed is not None:
            os.environ["DUAL_TICKER_REPLAY_SPEED"] = str(args.speed)
    try:
        settings = load_settings()
        if args.command == "run":
            from dual_ticker.cli.local_stack import run as run_stack

            return run_stack(settings, args.ui_port)
        if args.command == "db":
            return _database(settings, args.action)
        from dual_ticker.cli.local_stack import prepare

        environment = prepare(settings)
        dagster = os.path.join(os.path.dirname(sys.executable), "dagster")
        os.execve(dagster, [dagster, *rest], environment)
    except (ConfigError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def _database(settings, action: str) -> int:
    from dual_ticker.storage import embedded
    from dual_ticker.storage.database import redact
    from dual_ticker.storage.ready import open_database

    if settings.database_url and action != "status":
        print("DUAL_TICKER_DATABASE_URL is set: that server is managed outside this project")
        return 0
    if action == "start":
        url = open_database(settings)
        print(f"running: {redact(url)}")
    elif action == "stop":
        print("stopped" if embedded.stop(settings.home) else "was not running")
    else:
        url = settings.database_url or embedded.running_url(settings.home)
        if url is None:
            print("not running")
            return 1
        from dual_ticker.storage.database import DatabaseUnavailable, connect

        try:
            connect(url).close()
        except DatabaseUnavailable as error:
            print(f"not answering: {error}")
            return 1
        print(f"running: {redact(url)}")
    return 0
