"""dual_ticker: the NVDA + MSFT intraday market-data platform on Dagster."""
