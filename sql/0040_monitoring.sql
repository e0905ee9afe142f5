-- Alert episodes: a session that stays blocked on a check (or keeps failing a WARN check) alerts
-- once, until it passes again. Plus an index so delivering pending alerts never scans history.
CREATE TABLE IF NOT EXISTS alert_episodes (
    scope      TEXT        NOT NULL CHECK (scope IN ('blocked_run', 'check_warning')),
    session    TEXT        NOT NULL,   -- partition key (YYYY-MM-DD), or run:<id> when none
    check_key  TEXT        NOT NULL,   -- <asset>/<check>
    run_id     TEXT        NOT NULL,   -- the run that opened the episode
    opened_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (scope, session, check_key)
);
CREATE INDEX IF NOT EXISTS alerts_pending_idx ON alerts (id) WHERE delivered_at IS NULL;
