"""Dagster wiring of the asset graph: raw_bars -> validated_bars -> features -> dual_ticker_bars -> positions."""
