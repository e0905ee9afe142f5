-- Columnar compression of settled chunks, segmented by symbol (every query filters on it).
ALTER TABLE raw_bars SET (
    timescaledb.compress,
    timescaledb.compress_segmentby = 'symbol, data_source',
    timescaledb.compress_orderby = '"timestamp" DESC'
);
SELECT add_compression_policy('raw_bars', compress_after => INTERVAL '14 days', if_not_exists => TRUE);
ALTER TABLE dual_ticker_bars SET (
    timescaledb.compress,
    timescaledb.compress_segmentby = 'symbol',
    timescaledb.compress_orderby = '"timestamp" DESC'
);
SELECT add_compression_policy('dual_ticker_bars', compress_after => INTERVAL '60 days', if_not_exists => TRUE);
