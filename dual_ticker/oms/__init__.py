"""Order management: orders with client order ids, risk limits, the paper and Interactive Brokers
brokers, and current_positions marked to market."""

from dual_ticker.oms.broker import Broker, BrokerUnavailable
from dual_ticker.oms.broker_choice import broker_from_settings
from dual_ticker.oms.order_service import OrderService
from dual_ticker.oms.orders import Order, OrderRequest, OrderStatus, OrderType, Side
from dual_ticker.oms.positions import sync_positions
from dual_ticker.oms.risk import RiskLimits
from dual_ticker.oms.trading_mode import LiveTradingRefused, TradingPermission

__all__ = [
    "Broker",
    "BrokerUnavailable",
    "LiveTradingRefused",
    "Order",
    "OrderRequest",
    "OrderService",
    "OrderStatus",
    "OrderType",
    "RiskLimits",
    "Side",
    "TradingPermission",
    "broker_from_settings",
    "sync_positions",
]
