"""The current book: positions synced from the active broker and marked to market."""


import dagster as dg

from dual_ticker.assets.market_data import dual_ticker_bars
from dual_ticker.resources import DatabaseResource
from dual_ticker.settings import Settings
from dual_ticker.storage.positions import mark_to_market


@dg.asset(deps=[dual_ticker_bars], group_name="portfolio")
def positions(context: dg.AssetExecutionContext, database: DatabaseResource,
              settings: dg.ResourceParam[Settings]) -> dg.MaterializeResult:
    """`current_positions` marked to market on the latest `dual_ticker_bars` close."""
    with database.transaction() as connection:
        book = mark_to_market(connection)
    return dg.MaterializeResult(metadata={
        "positions": dg.MetadataValue.json(book["positions"]),
        "total_value": book["total_value"],
        "broker": settings.broker.kind,
    })
