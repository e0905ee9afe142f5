-- Gate failures by source: the feed whose delivery a failed rule judged (NULL where the verdict
-- is not one feed's, e.g. a session of stored rows of several sources), and the requests whose
-- delivery the gate rejected, so repeated bad data moves the active feed like repeated errors.
ALTER TABLE quality_failures ADD COLUMN IF NOT EXISTS data_source TEXT;
ALTER TABLE feed_requests ADD COLUMN IF NOT EXISTS gate_failed BOOLEAN NOT NULL DEFAULT FALSE;
-- The gate marks the requests of the run that brought a rejected delivery.
CREATE INDEX IF NOT EXISTS feed_requests_run_idx ON feed_requests (run_id);
