"""Monitoring: the sidecar (health, Prometheus metrics, status) and alerts (sensors, webhook).

Dagster wiring lives in `dual_ticker.monitoring.sensors` (ALERT_SENSORS, AlertResource); the app
factory in `dual_ticker.monitoring.app` (create_app). Other sensors raise alerts with these two.
"""

from dual_ticker.monitoring.alerts import deliver_pending, raise_alert

__all__ = ["deliver_pending", "raise_alert"]
