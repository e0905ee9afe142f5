-- Alerts raised (one row per distinct event, deduplicated by key) and their delivery.
CREATE TABLE IF NOT EXISTS alerts (
    id            BIGSERIAL   PRIMARY KEY,
    dedupe_key    TEXT        NOT NULL UNIQUE,
    kind          TEXT        NOT NULL,   -- blocked_run | failed_run | feed_switch | check_warning
    severity      TEXT        NOT NULL,
    message       TEXT        NOT NULL,
    run_id        TEXT,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    attempts      INTEGER     NOT NULL DEFAULT 0,
    delivered_at  TIMESTAMPTZ,
    last_error    TEXT
);
