"""Paper-trading safety: live IB ports and non-paper accounts are refused unless live trading
is enabled both in config (broker.live_trading_enabled) and in the environment."""

from __future__ import annotations

from dataclasses import dataclass

from dual_ticker.oms.orders import OrderRefused
from dual_ticker.settings import LIVE_TRADING_VARIABLE

LIVE_PORTS = {4001: "IB Gateway live", 7496: "TWS live"}
PAPER_ACCOUNT_PREFIX = "DU"
_HOW_TO_ENABLE = (
    f"live trading needs broker.live_trading_enabled: true in config "
    f"and {LIVE_TRADING_VARIABLE}=yes in the environment"
)


class LiveTradingRefused(OrderRefused):
    pass


def masked_account(account: str) -> str:
    return account if len(account) <= 4 else f"{account[:2]}***{account[-2:]}"


@dataclass(frozen=True)
class TradingPermission:
    live_trading_enabled: bool = False
    live_trading_confirmed: bool = False
    how_to_enable: str = _HOW_TO_ENABLE  # the end of a refusal's message

    @property
    def live_allowed(self) -> bool:
        return self.live_trading_enabled and self.live_trading_confirmed

    def check_port(self, port: int) -> None:
        if port in LIVE_PORTS and not self.live_allowed:
            raise LiveTradingRefused(
                f"refusing port {port} ({LIVE_PORTS[port]}): set IB_PORT to 4002 "
                "(IB Gateway paper) "
                f"or 7497 (TWS paper); {self.how_to_enable}"
            )

    def check_account(self, account: str) -> None:
        if not account.startswith(PAPER_ACCOUNT_PREFIX) and not self.live_allowed:
            raise LiveTradingRefused(
                f"refusing account {masked_account(account)}: not a paper account (those start "
                f"with {PAPER_ACCOUNT_PREFIX}); log in to the paper account or set IB_ACCOUNT; "
                f"{self.how_to_enable}"
            )
