"""Runs a command with the test suite's loopback stand-ins for the outside world (a TWS gateway,
Alpha Vantage, Yahoo, a webhook), their addresses in its environment, to try operator steps
offline (docs/OPERATIONS.md). The peers stop when the command ends.

    .venv/bin/python scripts/loopback_peers.py --tws -- make ib-check
    .venv/bin/python scripts/loopback_peers.py --alpha-vantage --yahoo -- make materialize
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the peers live in dual_ticker_tests/support, not installed

from dual_ticker_tests.support.alpha_vantage_server import AlphaVantageSimulator  # noqa: E402
from dual_ticker_tests.support.tws_gateway import TwsGateway  # noqa: E402
from dual_ticker_tests.support.webhook_receiver import WebhookReceiver  # noqa: E402
from dual_ticker_tests.support.yahoo_server import YahooSimulator  # noqa: E402

DEMO_KEY = "loopback-demo-key"  # the simulator wants some key; a real one never goes here


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/loopback_peers.py", description=__doc__)
    parser.add_argument("--tws", action="store_true", help="a TWS gateway, paper account DU1234567")
    parser.add_argument("--alpha-vantage", action="store_true", help="Alpha Vantage intraday")
    parser.add_argument(
        "--alpha-vantage-fault",
        metavar="KIND",
        help="every Alpha Vantage data request fails so (http_500, throttle_note, ...)",
    )
    parser.add_argument("--yahoo", action="store_true", help="Yahoo Finance chart API")
    parser.add_argument("--webhook", action="store_true", help="prints every alert posted to it")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARGS...]")
    args = parser.parse_args(argv)
    if args.command[:1] == ["--"]:
        args.command = args.command[1:]
    if not args.command:
        parser.error("give the command to run after --")
    return args


def start_peers(args: argparse.Namespace, stack: ExitStack) -> tuple[dict, WebhookReceiver | None]:
    environment, hook = {}, None
    if args.tws:
        gateway = stack.enter_context(TwsGateway())
        environment.update(IB_HOST=gateway.host, IB_PORT=str(gateway.port))
    if args.alpha_vantage or args.alpha_vantage_fault:
        server = stack.enter_context(AlphaVantageSimulator())
        if args.alpha_vantage_fault:
            server.set_mode(args.alpha_vantage_fault)
        environment["ALPHAVANTAGE_BASE_URL"] = f"{server.url}/query"
    if args.yahoo:
        environment["YAHOO_BASE_URL"] = stack.enter_context(YahooSimulator()).url
    if args.webhook:
        hook = stack.enter_context(WebhookReceiver())
        environment["DUAL_TICKER_ALERT_WEBHOOK"] = hook.url_for("/hooks/dual_ticker")
    return environment, hook


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    with ExitStack() as stack:
        environment, hook = start_peers(args, stack)
        for name, value in environment.items():
            print(f"loopback: {name}={value}", flush=True)
        if "ALPHAVANTAGE_BASE_URL" in environment and not os.environ.get("ALPHAVANTAGE_API_KEY"):
            environment["ALPHAVANTAGE_API_KEY"] = DEMO_KEY
        child = subprocess.Popen(args.command, env={**os.environ, **environment})
        # Ctrl-C reaches the command too (same terminal): wait for it to stop, then stop the peers.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            code = child.wait()
        finally:
            signal.signal(signal.SIGINT, previous)
        if hook is not None:
            posts = hook.posts
            print(f"loopback: the webhook received {len(posts)} alert(s)")
            for post in posts:
                print(f"  {post.body.get('text', post.body)}")
    return code


if __name__ == "__main__":
    sys.exit(main())
