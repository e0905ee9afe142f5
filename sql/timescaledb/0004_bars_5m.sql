-- Five-minute bars kept current by TimescaleDB for dashboards and coarser research.
-- (A continuous aggregate cannot be created inside a transaction: the runner uses autocommit.)
CREATE MATERIALIZED VIEW IF NOT EXISTS dual_ticker_bars_5m
WITH (timescaledb.continuous) AS
SELECT time_bucket(INTERVAL '5 minutes', "timestamp") AS bucket,
       symbol,
       first(open, "timestamp") AS open,
       max(high) AS high,
       min(low) AS low,
       last(close, "timestamp") AS close,
       sum(volume) AS volume
FROM dual_ticker_bars
GROUP BY bucket, symbol
WITH NO DATA;
SELECT add_continuous_aggregate_policy('dual_ticker_bars_5m',
    start_offset => INTERVAL '3 days', end_offset => INTERVAL '5 minutes',
    schedule_interval => INTERVAL '5 minutes', if_not_exists => TRUE);
