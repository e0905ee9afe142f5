-- The market-data-age retention policy of the old 0003 dropped history a backfill had just landed.
-- Retention now exists only where configured (storage/timescale.py, drop_created_before).
SELECT remove_retention_policy('raw_bars', if_exists => TRUE);
