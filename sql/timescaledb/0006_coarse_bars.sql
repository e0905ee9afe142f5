-- Hierarchical continuous aggregates of the contract: 5 minutes from dual_ticker_bars, 15 minutes
-- from 5, 1 hour from 15, 1 New York day from 1 hour; same names and columns as the plain views of
-- sql/0012 (dropped here first). Real-time (materialized_only = false): the newest bucket is
-- read through to dual_ticker_bars. Each run refreshes exactly the range it wrote
-- (storage/coarse_bars.py); created WITH DATA, so an existing history is aggregated once, here.
DO $drop$
DECLARE
    name text;
BEGIN
    FOREACH name IN ARRAY ARRAY['dual_ticker_bars_1d', 'dual_ticker_bars_1h',
                                'dual_ticker_bars_15m', 'dual_ticker_bars_5m']
    LOOP
        IF EXISTS (SELECT 1 FROM timescaledb_information.continuous_aggregates
                   WHERE view_name = name) THEN
            EXECUTE format('DROP MATERIALIZED VIEW %I CASCADE', name);  -- the old 5m: no VWAP
        ELSE
            EXECUTE format('DROP VIEW IF EXISTS %I', name);
        END IF;
    END LOOP;
END
$drop$;
CREATE MATERIALIZED VIEW dual_ticker_bars_5m
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '5 minutes', "timestamp") AS bucket,
       symbol,
       first(open, "timestamp") AS open,
       max(high) AS high,
       min(low) AS low,
       last(close, "timestamp") AS close,
       sum(volume)::bigint AS volume,
       sum((high + low + close) / 3 * volume) AS price_volume,
       (sum((high + low + close) / 3 * volume) / nullif(sum(volume), 0))::double precision AS vwap,
       count(*)::bigint AS bars
FROM dual_ticker_bars
GROUP BY bucket, symbol
WITH DATA;
CREATE MATERIALIZED VIEW dual_ticker_bars_15m
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '15 minutes', bucket) AS bucket,
       symbol,
       first(open, bucket) AS open,
       max(high) AS high,
       min(low) AS low,
       last(close, bucket) AS close,
       sum(volume)::bigint AS volume,
       sum(price_volume) AS price_volume,
       (sum(price_volume) / nullif(sum(volume), 0))::double precision AS vwap,
       sum(bars)::bigint AS bars
FROM dual_ticker_bars_5m
GROUP BY 1, symbol
WITH DATA;
CREATE MATERIALIZED VIEW dual_ticker_bars_1h
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 hour', bucket) AS bucket,
       symbol,
       first(open, bucket) AS open,
       max(high) AS high,
       min(low) AS low,
       last(close, bucket) AS close,
       sum(volume)::bigint AS volume,
       sum(price_volume) AS price_volume,
       (sum(price_volume) / nullif(sum(volume), 0))::double precision AS vwap,
       sum(bars)::bigint AS bars
FROM dual_ticker_bars_15m
GROUP BY 1, symbol
WITH DATA;
CREATE MATERIALIZED VIEW dual_ticker_bars_1d
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 day', bucket, 'America/New_York') AS bucket,
       symbol,
       first(open, bucket) AS open,
       max(high) AS high,
       min(low) AS low,
       last(close, bucket) AS close,
       sum(volume)::bigint AS volume,
       sum(price_volume) AS price_volume,
       (sum(price_volume) / nullif(sum(volume), 0))::double precision AS vwap,
       sum(bars)::bigint AS bars
FROM dual_ticker_bars_1h
GROUP BY 1, symbol
WITH DATA;
