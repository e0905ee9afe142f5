-- The paper broker's own book (what a real broker keeps server-side): the orders it received
-- and its executions. Positions are derived from the executions.
CREATE TABLE IF NOT EXISTS paper_orders (
    id               BIGSERIAL      PRIMARY KEY,
    client_order_id  TEXT           NOT NULL UNIQUE,
    symbol           TEXT           NOT NULL,
    side             TEXT           NOT NULL,
    quantity         NUMERIC(18, 4) NOT NULL,
    order_type       TEXT           NOT NULL,
    limit_price      NUMERIC(12, 4),
    status           TEXT           NOT NULL,
    reason           TEXT,
    received_at      TIMESTAMPTZ    NOT NULL
);
CREATE TABLE IF NOT EXISTS paper_executions (
    id           BIGSERIAL      PRIMARY KEY,
    exec_id      TEXT           NOT NULL UNIQUE,
    order_id     BIGINT         NOT NULL REFERENCES paper_orders (id),
    symbol       TEXT           NOT NULL,
    side         TEXT           NOT NULL,
    quantity     NUMERIC(18, 4) NOT NULL,
    price        NUMERIC(12, 4) NOT NULL,
    commission   NUMERIC(12, 4) NOT NULL,
    executed_at  TIMESTAMPTZ    NOT NULL
);
CREATE INDEX IF NOT EXISTS paper_executions_symbol_idx ON paper_executions (symbol, id);
