-- The order framework: orders keyed by a client order id (a retry never double-submits), every
-- state transition, and the broker's executions.
CREATE TABLE IF NOT EXISTS orders (
    id               BIGSERIAL      PRIMARY KEY,
    client_order_id  TEXT           NOT NULL UNIQUE,
    symbol           TEXT           NOT NULL,
    side             TEXT           NOT NULL CHECK (side IN ('BUY', 'SELL')),
    quantity         NUMERIC(18, 4) NOT NULL CHECK (quantity > 0),
    order_type       TEXT           NOT NULL CHECK (order_type IN ('MKT', 'LMT')),
    limit_price      NUMERIC(12, 4),
    status           TEXT           NOT NULL DEFAULT 'new' CHECK (status IN
                         ('new', 'submitted', 'partially_filled', 'filled', 'cancelled', 'rejected')),
    broker           TEXT           NOT NULL,
    broker_order_id  TEXT,
    perm_id          BIGINT,
    filled_qty       NUMERIC(18, 4) NOT NULL DEFAULT 0,
    avg_fill_price   NUMERIC(12, 4),
    reason           TEXT,
    created_at       TIMESTAMPTZ    NOT NULL,
    submitted_at     TIMESTAMPTZ,
    updated_at       TIMESTAMPTZ    NOT NULL,
    CHECK ((order_type = 'LMT') = (limit_price IS NOT NULL))
);
CREATE INDEX IF NOT EXISTS orders_open_idx ON orders (symbol) WHERE status IN ('new', 'submitted', 'partially_filled');

CREATE TABLE IF NOT EXISTS order_events (
    id              BIGSERIAL      PRIMARY KEY,
    order_id        BIGINT         NOT NULL REFERENCES orders (id),
    from_status     TEXT,
    to_status       TEXT           NOT NULL,
    filled_qty      NUMERIC(18, 4) NOT NULL DEFAULT 0,
    avg_fill_price  NUMERIC(12, 4),
    broker_status   TEXT,
    reason          TEXT,
    occurred_at     TIMESTAMPTZ    NOT NULL,
    recorded_at     TIMESTAMPTZ    NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS order_events_order_idx ON order_events (order_id, id);

CREATE TABLE IF NOT EXISTS fills (
    id           BIGSERIAL      PRIMARY KEY,
    exec_id      TEXT           NOT NULL UNIQUE,
    order_id     BIGINT         NOT NULL REFERENCES orders (id),
    symbol       TEXT           NOT NULL,
    side         TEXT           NOT NULL CHECK (side IN ('BUY', 'SELL')),
    quantity     NUMERIC(18, 4) NOT NULL CHECK (quantity > 0),
    price        NUMERIC(12, 4) NOT NULL,
    commission   NUMERIC(12, 4),
    executed_at  TIMESTAMPTZ    NOT NULL,
    recorded_at  TIMESTAMPTZ    NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS fills_order_idx ON fills (order_id);
