"""The steps of the bar pipeline as plain functions over a run's sessions."""
