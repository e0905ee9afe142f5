-- A failing TimescaleDB job is alerted once per failure episode (monitoring/job_alerts.py).
ALTER TABLE alert_episodes DROP CONSTRAINT IF EXISTS alert_episodes_scope_check;
ALTER TABLE alert_episodes ADD CONSTRAINT alert_episodes_scope_check
    CHECK (scope IN ('blocked_run', 'check_warning', 'timescaledb_job'));
