"""The current book: positions synced from the active broker and marked to market."""

import dagster as dg

from dual_ticker.clock import Clock
from dual_ticker.oms import broker_from_settings, sync_positions
from dual_ticker.orchestration.assets.market_data import dual_ticker_bars
from dual_ticker.orchestration.resources import DatabaseResource
from dual_ticker.settings import Settings
from dual_ticker.storage.database import connect


@dg.asset(
    # The book marks to the latest session's bars. Without a mapping Dagster reads every session
    # partition (6,700 keys) on each run to version this dependency.
    deps=[dg.AssetDep(dual_ticker_bars, partition_mapping=dg.LastPartitionMapping())],
    group_name="portfolio",
)
def positions(
    context: dg.AssetExecutionContext,
    database: DatabaseResource,
    settings: dg.ResourceParam[Settings],
    clock: dg.ResourceParam[Clock],
) -> dg.MaterializeResult:
    """`current_positions` synced from the active broker, marked to market on the latest bar close."""
    url = database.connection_url()
    with broker_from_settings(settings, url, clock) as broker:
        connection = connect(url)
        try:
            book = sync_positions(connection, broker, clock)
        finally:
            connection.close()
    return dg.MaterializeResult(
        metadata={
            "broker": book["broker"],
            "open_positions": book["open_positions"],
            "total_value": float(book["total_value"]),
            "total_unrealized_pnl": float(book["total_unrealized_pnl"]),
            "positions": dg.MetadataValue.json(book["positions"]),
        }
    )
