-- Staged rows looked up by their key: publishing deletes the stored rows the staging no longer
-- has, one probe per stored row. With only the session index each probe scanned the session's
-- staged rows (the staging is emptied after every publish, so its statistics never see a full
-- session), and a minute run late in the day spent 85 ms there.
CREATE INDEX IF NOT EXISTS staged_features_key_idx ON staged_features (session, symbol, "timestamp");
DROP INDEX IF EXISTS staged_features_session_idx;
