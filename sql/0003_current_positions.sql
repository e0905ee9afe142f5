-- Current state of the book, synced from the active broker and marked to market.
CREATE TABLE IF NOT EXISTS current_positions (
    id              SERIAL PRIMARY KEY,
    symbol          TEXT           NOT NULL UNIQUE,
    qty             NUMERIC(18, 4) NOT NULL DEFAULT 0,
    avg_price       NUMERIC(12, 4) NOT NULL DEFAULT 0,
    market_value    NUMERIC(18, 4) NOT NULL DEFAULT 0,
    unrealized_pnl  NUMERIC(18, 4) NOT NULL DEFAULT 0,
    last_updated    TIMESTAMPTZ    NOT NULL DEFAULT now()
);
INSERT INTO current_positions (symbol) VALUES ('NVDA'), ('MSFT') ON CONFLICT (symbol) DO NOTHING;
