-- Retention applies to the landing table only; dual_ticker_bars is training history, kept whole.
-- To change it: SELECT remove_retention_policy('raw_bars'); then add_retention_policy again.
SELECT add_retention_policy('raw_bars', drop_after => INTERVAL '730 days', if_not_exists => TRUE);
