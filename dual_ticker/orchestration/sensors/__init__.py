"""Sensors: feed failover and alerts."""
