-- Feed health: every request's outcome and latency, running totals (scrape cost independent of
-- history), and the failover state the sensor keeps (one row).
CREATE TABLE IF NOT EXISTS feed_requests (
    id               BIGSERIAL PRIMARY KEY,
    feed             TEXT             NOT NULL,
    symbol           TEXT,
    run_id           TEXT,
    outcome          TEXT             NOT NULL,  -- ok | error | throttled | empty | stale | unparseable | unavailable | timeout | out_of_range
    latency_seconds  DOUBLE PRECISION NOT NULL,
    bars             INTEGER          NOT NULL DEFAULT 0,
    detail           TEXT,
    requested_at     TIMESTAMPTZ      NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS feed_requests_feed_time_idx ON feed_requests (feed, requested_at DESC);
CREATE TABLE IF NOT EXISTS feed_request_totals (
    feed           TEXT             NOT NULL,
    outcome        TEXT             NOT NULL,
    total          BIGINT           NOT NULL DEFAULT 0,
    latency_sum    DOUBLE PRECISION NOT NULL DEFAULT 0,
    PRIMARY KEY (feed, outcome)
);
-- Cumulative latency histogram per feed, in Prometheus' bucket convention (le = upper bound).
CREATE TABLE IF NOT EXISTS feed_latency_buckets (
    feed   TEXT             NOT NULL,
    le     DOUBLE PRECISION NOT NULL,
    total  BIGINT           NOT NULL DEFAULT 0,
    PRIMARY KEY (feed, le)
);
CREATE TABLE IF NOT EXISTS feed_state (
    singleton             BOOLEAN     PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    active_feed           TEXT        NOT NULL,
    consecutive_failures  INTEGER     NOT NULL DEFAULT 0,
    healthy_probes        INTEGER     NOT NULL DEFAULT 0,
    switches              BIGINT      NOT NULL DEFAULT 0,
    last_probe_at         TIMESTAMPTZ,
    switched_at           TIMESTAMPTZ,
    updated_at            TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS bars_ingested_totals (
    symbol  TEXT   NOT NULL,
    source  TEXT   NOT NULL,
    total   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (symbol, source)
);
