-- The contract table the trading model reads: validated bars with their 13 features per symbol.
CREATE TABLE IF NOT EXISTS dual_ticker_bars (
    "timestamp"  TIMESTAMPTZ      NOT NULL,
    symbol       TEXT             NOT NULL,
    open         NUMERIC(12, 4)   NOT NULL,
    high         NUMERIC(12, 4)   NOT NULL,
    low          NUMERIC(12, 4)   NOT NULL,
    close        NUMERIC(12, 4)   NOT NULL,
    volume       BIGINT           NOT NULL,
    rsi          DOUBLE PRECISION,
    ema_short    DOUBLE PRECISION,
    ema_long     DOUBLE PRECISION,
    vwap         DOUBLE PRECISION,
    hour_sin     DOUBLE PRECISION,
    hour_cos     DOUBLE PRECISION,
    minute_sin   DOUBLE PRECISION,
    minute_cos   DOUBLE PRECISION,
    data_source  TEXT             NOT NULL DEFAULT 'unknown',
    created_at   TIMESTAMPTZ      NOT NULL DEFAULT now(),
    PRIMARY KEY (symbol, "timestamp")
);
CREATE INDEX IF NOT EXISTS dual_ticker_bars_timestamp_idx ON dual_ticker_bars ("timestamp");
