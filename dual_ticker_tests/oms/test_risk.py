"""Pre-trade risk limits and the paper-trading safety rules (pure)."""

import pytest

from dual_ticker.oms.orders import OrderRequest, OrderType, Side
from dual_ticker.oms.risk import RiskLimitExceeded, RiskLimits, check_order
from dual_ticker.oms.trading_mode import LiveTradingRefused, TradingPermission

LIMITS = RiskLimits(max_order_quantity=100, max_position_notional=10_000.0)


def buy(qty, price=None):
    kind = OrderType.LIMIT if price else OrderType.MARKET
    return OrderRequest("r-1", "NVDA", Side.BUY, qty, kind, price)


def test_order_quantity_limit():
    check_order(buy(100), LIMITS, 0, 0, 10.0)
    with pytest.raises(
        RiskLimitExceeded, match="order quantity 101 exceeds broker.max_order_quantity 100"
    ):
        check_order(buy(101), LIMITS, 0, 0, 10.0)


def test_position_notional_counts_position_and_open_orders():
    check_order(buy(50), LIMITS, 30, 0, 125.0)  # 80 * 125 = 10,000: at the limit
    with pytest.raises(RiskLimitExceeded, match=r"notional would be \$10,125.00"):
        check_order(buy(50), LIMITS, 30, 1, 125.0)
    with pytest.raises(RiskLimitExceeded, match="above broker.max_position_notional"):
        check_order(buy(10, 2_000.0), LIMITS, 0, 0, 100.0)  # a LMT order is valued at its limit


def test_reducing_exposure_always_passes_the_notional_limit():
    sell = OrderRequest("r-2", "NVDA", Side.SELL, 10, OrderType.MARKET)
    check_order(sell, LIMITS, 500, 0, 100.0)


def test_market_order_without_mark_price_is_refused():
    with pytest.raises(RiskLimitExceeded, match="no mark price for NVDA"):
        check_order(buy(1), LIMITS, 0, 0, None)


@pytest.mark.parametrize("port", [4001, 7496])
def test_live_ports_are_refused_unless_enabled_in_config_and_environment(port):
    for permission in (
        TradingPermission(),
        TradingPermission(True, False),
        TradingPermission(False, True),
    ):
        with pytest.raises(LiveTradingRefused, match=f"refusing port {port}.*IB_PORT to 4002"):
            permission.check_port(port)
    TradingPermission(True, True).check_port(port)
    TradingPermission().check_port(4002)
    TradingPermission().check_port(7497)


def test_non_paper_accounts_are_refused_unless_live_trading_is_enabled():
    TradingPermission().check_account("DU1234567")
    with pytest.raises(
        LiveTradingRefused, match=r"refusing account U1\*\*\*67: not a paper account"
    ) as refused:
        TradingPermission(True, False).check_account("U1234567")
    assert "U1234567" not in str(refused.value) and "\n" not in str(refused.value)
    TradingPermission(True, True).check_account("U1234567")
