"""`python -m dual_ticker.oms.ib_check` as a real subprocess against the loopback gateway."""

import os
import subprocess
import sys

from dual_ticker.settings import PROJECT_ROOT
from dual_ticker_tests.oms.test_ib_broker import closed_port
from dual_ticker_tests.support.tws_gateway import TwsGateway


def ib_check(port: int, home, **variables) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("DUAL_TICKER_", "IB_"))}
    environ.update(
        IB_HOST="127.0.0.1",
        IB_PORT=str(port),
        IB_CLIENT_ID="11",
        DUAL_TICKER_HOME=str(home),
        **variables,
    )
    return subprocess.run(
        [sys.executable, "-m", "dual_ticker.oms.ib_check"],
        cwd=PROJECT_ROOT,
        env=environ,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    )


def test_ib_check_prints_account_and_positions_then_places_and_cancels(gateway, tmp_path):
    gateway.book[("DU1234567", "MSFT")] = (25.0, 400.0)
    result = ib_check(gateway.port, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"✅ Connected to IB at 127.0.0.1:{gateway.port} as client 11",
        "🏦 Account: DU1234567 (paper)",
        "   NetLiquidation: 110250.00 USD",  # cash + 25 MSFT at 410
        "   TotalCashValue: 100000.00 USD",
        "   BuyingPower: 1000000.00 USD",
        "📊 Positions:",
        "   MSFT: 25 @ 400.00",
        "📝 Placed order 3: BUY 1 NVDA LMT 1.00 -> Submitted",
        "🛑 Cancelled order 3 -> Cancelled",
        "✅ IB check passed",
    ]
    (order,) = gateway.orders.values()
    assert (order.action, order.quantity, order.order_type, order.limit_price, order.status) == (
        "BUY",
        1,
        "LMT",
        1.0,
        "Cancelled",
    )
    assert order.order_ref.startswith("ib-check-") and gateway.executions == []


def test_ib_check_refuses_a_live_account_even_when_live_trading_is_confirmed(clock, tmp_path):
    with TwsGateway(accounts=("U7654321",), clock=clock) as live:
        result = ib_check(live.port, tmp_path, DUAL_TICKER_LIVE_TRADING="yes")
        assert live.placed_order_ids == []
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("ib-check: refusing account U7***21: not a paper account")
    assert result.stderr.strip().endswith("ib-check runs against paper accounts only")
    assert len(result.stderr.strip().splitlines()) == 1 and "U7654321" not in result.stderr


def test_ib_check_refuses_live_ports_and_reports_an_absent_gateway(tmp_path):
    live_port = ib_check(4001, tmp_path)
    assert live_port.returncode == 1
    assert live_port.stderr.startswith(
        "ib-check: refusing port 4001 (IB Gateway live): set IB_PORT to 4002"
    )
    absent = ib_check(closed_port(), tmp_path)
    assert absent.returncode == 1 and len(absent.stderr.strip().splitlines()) == 1
    assert (
        "couldn't connect to IB at 127.0.0.1:" in absent.stderr
        and "docs/IB_SETUP.md" in absent.stderr
    )


def test_ib_check_passes_outside_regular_hours_with_the_order_held(clock, tmp_path):
    with TwsGateway(clock=clock, market_open=False) as closed:
        result = ib_check(closed.port, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "📝 Placed order 3: BUY 1 NVDA LMT 1.00 -> PreSubmitted" in result.stdout.splitlines()
