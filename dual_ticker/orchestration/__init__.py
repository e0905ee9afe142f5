"""The Dagster wiring: assets and their checks, resources, partitions, schedules, sensors."""
