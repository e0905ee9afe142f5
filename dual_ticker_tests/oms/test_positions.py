"""current_positions synced from the broker and marked to market; the position tracker CLI."""

import os
import subprocess
import sys

import pandas as pd
import pytest

from dual_ticker.oms.order_service import OrderService
from dual_ticker.oms.orders import OrderRequest, Side
from dual_ticker.oms.paper_broker import PaperBroker
from dual_ticker.oms.positions import sync_positions
from dual_ticker.oms.risk import RiskLimits
from dual_ticker.settings import PROJECT_ROOT
from dual_ticker.storage import positions
from dual_ticker.storage.database import connect
from dual_ticker_tests.oms.conftest import NOW, add_bars


def tracker(database_url: str, home) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("DUAL_TICKER_", "IB_"))}
    environ.update(DUAL_TICKER_DATABASE_URL=database_url, DUAL_TICKER_HOME=str(home))
    return subprocess.run(
        [sys.executable, "-m", "dual_ticker.oms.position_tracker"],
        cwd=PROJECT_ROOT,
        env=environ,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    )


@pytest.fixture
def traded(database_url, clock):
    """Paper fills: 100 NVDA at 120, 5 MSFT at 400; then the market moves to 130 and 390."""
    add_bars(database_url, {"NVDA": 120.0, "MSFT": 400.0}, at=NOW - pd.Timedelta(minutes=5))
    paper = PaperBroker(database_url, clock, slippage_bps=0.0, commission_per_share=0.0)
    service = OrderService(database_url, paper, clock, RiskLimits(1000, 1e9))
    service.submit(OrderRequest("t-1", "NVDA", Side.BUY, 100))
    service.submit(OrderRequest("t-2", "MSFT", Side.BUY, 5))
    add_bars(database_url, {"NVDA": 130.0, "MSFT": 390.0})
    return paper


def test_sync_marks_the_brokers_positions_to_the_latest_close(database_url, traded, clock):
    connection = connect(database_url)
    try:
        summary = sync_positions(connection, traded, clock)
        rows = {row.symbol: row for row in positions.current(connection)}
    finally:
        connection.close()
    assert summary["total_value"] == 100 * 130 + 5 * 390 == 14_950
    assert (
        summary["open_positions"] == 2
        and summary["broker"] == "paper"
        and summary["unmarked"] == []
    )
    assert summary["positions"]["NVDA"] == {
        "symbol": "NVDA",
        "qty": 100,
        "avg_price": 120,
        "market_value": 13_000,
        "unrealized_pnl": 1_000,
        "mark_price": 130,
    }
    assert (
        rows["MSFT"].qty,
        rows["MSFT"].avg_price,
        rows["MSFT"].market_value,
        rows["MSFT"].unrealized_pnl,
    ) == (5, 400, 1_950, -50)


def test_a_flat_book_syncs_to_zero_rows_for_both_symbols(database_url, clock):
    connection = connect(database_url)
    try:
        summary = sync_positions(connection, PaperBroker(database_url, clock), clock)
        rows = positions.current(connection)
    finally:
        connection.close()
    assert [(r.symbol, r.qty, r.market_value) for r in rows] == [("MSFT", 0, 0), ("NVDA", 0, 0)]
    assert summary["total_value"] == 0 and summary["open_positions"] == 0


def test_tracker_prints_the_empty_portfolio_exactly(database_url, tmp_path):
    result = tracker(database_url, tmp_path)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == (
        "🏦 CURRENT PORTFOLIO STATUS\n📊 No active positions\n💰 Total Portfolio Value: $0.00\n"
    )


def test_tracker_prints_open_positions_and_the_total(database_url, traded, clock, tmp_path):
    connection = connect(database_url)
    try:
        sync_positions(connection, traded, clock)
    finally:
        connection.close()
    result = tracker(database_url, tmp_path)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.splitlines() == [
        "🏦 CURRENT PORTFOLIO STATUS",
        "📊 MSFT: 5 shares @ $400.00 avg | Market Value: $1,950.00 | Unrealized P&L: -$50.00",
        "📊 NVDA: 100 shares @ $120.00 avg | Market Value: $13,000.00 | Unrealized P&L: +$1,000.00",
        "💰 Total Portfolio Value: $14,950.00",
    ]


def test_tracker_with_an_unreachable_database_prints_one_line_and_exits_1(tmp_path):
    result = tracker("postgresql://dual:secret@127.0.0.1:1/nothing", tmp_path)
    assert result.returncode == 1 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert "database unreachable" in result.stderr and "secret" not in result.stderr
