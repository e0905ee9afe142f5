"""Mark prices for the OMS: the close of each symbol's latest contract bar before a moment."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from dual_ticker.storage import contract_bars


def latest_closes(
    connection, symbols: Iterable[str], as_of: pd.Timestamp | None = None
) -> dict[str, float]:
    """{symbol: close of its latest bar starting before `as_of`}; symbols without bars absent."""
    return contract_bars.latest_closes(connection, symbols, before=as_of)
