"""What the lead wires into Definitions: the alert sensors and their two resources."""

import dagster as dg

from dual_ticker.definitions import ASSETS, build_resources
from dual_ticker.orchestration.sensors.alerts import ALERT_SENSORS, AlertResource


def test_the_alert_sensors_load_beside_the_assets_with_database_and_alerts_resources(settings):
    resources = build_resources(settings) | {"alerts": AlertResource(webhook_url=None)}
    definitions = dg.Definitions(assets=ASSETS, sensors=ALERT_SENSORS, resources=resources)
    dg.Definitions.validate_loadable(definitions)
    names = {sensor.name for sensor in ALERT_SENSORS}
    assert names == {
        "run_failure_alert_sensor",
        "check_warning_alert_sensor",
        "timescaledb_job_alert_sensor",
    }
    for sensor in ALERT_SENSORS:
        assert sensor.required_resource_keys - {"clock"} == {"database", "alerts"}
        assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
