-- Landing table: every delivered 1-minute bar, as parsed, per source; kept for audit and replay.
-- The latest delivery of a minute from a source replaces the earlier one (key includes timestamp,
-- so the table can become a hypertable). gate_* columns say whether the quality gate passed it;
-- conflict marks a minute one delivery held twice with different values (it blocks the session
-- until a later delivery replaces it).
CREATE TABLE IF NOT EXISTS raw_bars (
    symbol       TEXT        NOT NULL,
    "timestamp"  TIMESTAMPTZ NOT NULL,
    data_source  TEXT        NOT NULL,
    session      DATE        NOT NULL,
    open         NUMERIC     NOT NULL,
    high         NUMERIC     NOT NULL,
    low          NUMERIC     NOT NULL,
    close        NUMERIC     NOT NULL,
    volume       BIGINT      NOT NULL,
    fetched_at   TIMESTAMPTZ NOT NULL,
    run_id       TEXT,
    conflict     BOOLEAN     NOT NULL DEFAULT FALSE,  -- delivered twice with different values
    gate_status  TEXT        NOT NULL DEFAULT 'pending'
                 CHECK (gate_status IN ('pending', 'passed', 'rejected')),
    gate_run_id  TEXT,
    gate_reason  TEXT,
    PRIMARY KEY (symbol, "timestamp", data_source)
);
CREATE INDEX IF NOT EXISTS raw_bars_session_idx ON raw_bars (session, symbol);
