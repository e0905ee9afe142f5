-- Delivered rows the gate could not use as bars, kept as delivered: values that are not finite
-- numbers or are beyond any real price or volume, times unreadable or off the session, and every
-- version of a minute delivered twice differently. Each names the run that fetched it, the session
-- it was requested for (a row without a readable time has no minute: "timestamp" is NULL), the
-- blocking check it failed and why. Rows are history: a later clean delivery does not delete them.
CREATE TABLE IF NOT EXISTS quarantined_bars (
    id            BIGSERIAL   PRIMARY KEY,
    run_id        TEXT,
    session       DATE        NOT NULL,
    symbol        TEXT        NOT NULL,
    data_source   TEXT        NOT NULL,
    "timestamp"   TIMESTAMPTZ,          -- NULL: the delivered time could not be read
    delivered     JSONB       NOT NULL, -- the row's fields as delivered (text where not a number)
    check_name    TEXT        NOT NULL,
    reason        TEXT        NOT NULL,
    fetched_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS quarantined_bars_session_idx ON quarantined_bars (session, symbol);
CREATE INDEX IF NOT EXISTS quarantined_bars_run_idx ON quarantined_bars (run_id);
