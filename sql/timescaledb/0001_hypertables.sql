-- Hypertables for the two bar tables (every unique key includes "timestamp").
-- Chunks: raw_bars holds ~2 x 960 rows a day with extended hours: 7-day chunks; dual_ticker_bars
-- ~780 rows a day and is read in long ranges for training: 30-day chunks.
SELECT create_hypertable('raw_bars', by_range('timestamp', INTERVAL '7 days'),
                         if_not_exists => TRUE, migrate_data => TRUE);
SELECT create_hypertable('dual_ticker_bars', by_range('timestamp', INTERVAL '30 days'),
                         if_not_exists => TRUE, migrate_data => TRUE);
