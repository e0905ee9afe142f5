-- Coarser bars of the contract (5 minutes, 15 minutes, 1 hour, 1 New York day): OHLCV, the sum of
-- typical price x volume and the volume-weighted average price per bucket, labelled by the bucket
-- start. Plain views here; where TimescaleDB is present, timescaledb/0006 replaces them with
-- hierarchical continuous aggregates of the same names and columns, so a reader's SQL is the same.
DO $migration$
DECLARE
    level record;
BEGIN
    FOR level IN
        SELECT * FROM (VALUES
            ('dual_ticker_bars_5m',
             $b$date_bin(INTERVAL '5 minutes', "timestamp", TIMESTAMPTZ '2000-01-03 00:00+00')$b$),
            ('dual_ticker_bars_15m',
             $b$date_bin(INTERVAL '15 minutes', "timestamp", TIMESTAMPTZ '2000-01-03 00:00+00')$b$),
            ('dual_ticker_bars_1h',
             $b$date_bin(INTERVAL '1 hour', "timestamp", TIMESTAMPTZ '2000-01-03 00:00+00')$b$),
            ('dual_ticker_bars_1d',
             $b$(date_trunc('day', "timestamp" AT TIME ZONE 'America/New_York')
                 AT TIME ZONE 'America/New_York')$b$)
        ) AS levels (name, bucket)
    LOOP
        IF to_regclass(level.name) IS NULL THEN  -- a continuous aggregate of the name stays
            EXECUTE format(
                $view$CREATE VIEW %I AS
                SELECT %s AS bucket,
                       symbol,
                       (array_agg(open ORDER BY "timestamp"))[1] AS open,
                       max(high) AS high,
                       min(low) AS low,
                       (array_agg(close ORDER BY "timestamp" DESC))[1] AS close,
                       sum(volume)::bigint AS volume,
                       sum((high + low + close) / 3 * volume) AS price_volume,
                       (sum((high + low + close) / 3 * volume)
                           / nullif(sum(volume), 0))::double precision AS vwap,
                       count(*)::bigint AS bars
                FROM dual_ticker_bars
                GROUP BY 1, symbol$view$,
                level.name, level.bucket);
        END IF;
    END LOOP;
END
$migration$;
