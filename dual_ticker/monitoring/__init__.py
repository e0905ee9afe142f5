"""Monitoring: the sidecar (health, Prometheus metrics, status) and alert delivery (webhook).

The alert sensors are Dagster wiring and live in `dual_ticker.orchestration.sensors`.
"""

from dual_ticker.monitoring.alerts import deliver_pending, raise_alert

__all__ = ["deliver_pending", "raise_alert"]
