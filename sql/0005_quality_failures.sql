-- Every failed quality rule, durably, and running totals by reason for the metrics endpoint.
CREATE TABLE IF NOT EXISTS quality_failures (
    id           BIGSERIAL PRIMARY KEY,
    run_id       TEXT,
    session      DATE,
    asset        TEXT        NOT NULL,
    check_name   TEXT        NOT NULL,
    reason       TEXT        NOT NULL,
    severity     TEXT        NOT NULL CHECK (severity IN ('ERROR', 'WARN')),
    description  TEXT        NOT NULL,
    recorded_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS quality_failures_session_idx ON quality_failures (session);
CREATE TABLE IF NOT EXISTS quality_failure_totals (
    reason  TEXT   PRIMARY KEY,
    total   BIGINT NOT NULL DEFAULT 0
);
INSERT INTO quality_failure_totals (reason)
VALUES ('missing_data'), ('ohlc_violation'), ('volume'), ('price_jump'), ('indicator_bounds'),
       ('timestamp')
ON CONFLICT (reason) DO NOTHING;
