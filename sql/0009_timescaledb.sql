-- TimescaleDB when the extension is available: hypertables for the two bar tables.
-- On plain PostgreSQL (no extension) this migration does nothing.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') THEN
        CREATE EXTENSION IF NOT EXISTS timescaledb;
        EXECUTE $q$SELECT create_hypertable('raw_bars', 'timestamp',
            chunk_time_interval => INTERVAL '7 days', if_not_exists => TRUE, migrate_data => TRUE)$q$;
        EXECUTE $q$SELECT create_hypertable('dual_ticker_bars', 'timestamp',
            chunk_time_interval => INTERVAL '30 days', if_not_exists => TRUE, migrate_data => TRUE)$q$;
    END IF;
END
$$;
