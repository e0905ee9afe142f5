-- Intermediate asset outputs (validated_bars, features) per session, so any step can re-run alone
-- and every host of a multi-host deployment sees the same values.
CREATE TABLE IF NOT EXISTS asset_frames (
    asset_key   TEXT        NOT NULL,
    session     DATE        NOT NULL,
    payload     BYTEA       NOT NULL,
    run_id      TEXT,
    written_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (asset_key, session)
);
