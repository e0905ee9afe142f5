-- Feature rows of a session between the `features` asset and its publication in dual_ticker_bars
-- (which copies them in one transaction and clears them). Replaces asset_frames: no pickled frames.
-- UNLOGGED and unindexed but for the session: a transient copy, cheap to load in bulk.
DROP TABLE IF EXISTS asset_frames;
CREATE UNLOGGED TABLE IF NOT EXISTS staged_features (
    session      DATE             NOT NULL,
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
    data_source  TEXT             NOT NULL
);
CREATE INDEX IF NOT EXISTS staged_features_session_idx ON staged_features (session);
-- One row per staged session, also for a session with no bars yet (nothing to publish is news too).
CREATE UNLOGGED TABLE IF NOT EXISTS staged_sessions (
    session     DATE        PRIMARY KEY,
    run_id      TEXT,
    rows        INTEGER     NOT NULL,
    staged_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
