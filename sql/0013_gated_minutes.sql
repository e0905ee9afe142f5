-- What the gate passed, per session and symbol: the distinct regular-hours minutes of the passed
-- raw rows when the session was last gated. dual_ticker_bars compares what it publishes with it,
-- so a session whose landed rows vanished between steps (a policy, a manual delete) fails the
-- run, named, instead of being reported done with less than the gate passed.
CREATE TABLE IF NOT EXISTS gated_minutes (
    session    DATE        NOT NULL,
    symbol     TEXT        NOT NULL,
    minutes    INTEGER     NOT NULL,
    run_id     TEXT,
    gated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (session, symbol)
);
