"""The configured broker: paper by default, IB when asked, live only with both permissions."""

import pytest

from dual_ticker.oms import broker_from_settings
from dual_ticker.oms.ib_broker import IBBroker
from dual_ticker.oms.paper_broker import PaperBroker
from dual_ticker.oms.trading_mode import LiveTradingRefused


def configured(settings, port=4002, confirmed=False, **broker):
    return settings.model_copy(
        update={
            "broker": settings.broker.model_copy(update=broker),
            "endpoints": settings.endpoints.model_copy(update={"ib_port": port}),
            "live_trading_confirmed": confirmed,
        }
    )


def test_paper_is_the_default_with_the_configured_slippage_and_commission(settings, clock):
    assert settings.broker.kind == "paper"
    broker = broker_from_settings(settings, "postgresql://unused", clock)
    assert isinstance(broker, PaperBroker)
    assert (broker.slippage_bps, broker.commission_per_share) == (
        settings.broker.slippage_bps,
        settings.broker.commission_per_share,
    )


def test_ib_is_built_from_the_endpoints_without_connecting(settings, clock):
    broker = broker_from_settings(
        configured(settings, kind="ib", connect_timeout_seconds=3), "unused", clock
    )
    assert isinstance(broker, IBBroker)
    connection = broker.connection
    assert (connection.where, connection.client_id, connection.timeout) == ("127.0.0.1:4002", 1, 3)
    assert not broker.ib.isConnected()


def test_a_live_port_needs_config_and_environment(settings, clock):
    with pytest.raises(LiveTradingRefused, match="refusing port 4001"):
        broker_from_settings(configured(settings, 4001, True, kind="ib"), "unused", clock)
    with pytest.raises(LiveTradingRefused, match="refusing port 4001"):
        broker_from_settings(
            configured(settings, 4001, kind="ib", live_trading_enabled=True), "unused", clock
        )
    live = configured(settings, 4001, True, kind="ib", live_trading_enabled=True)
    assert isinstance(broker_from_settings(live, "unused", clock), IBBroker)
