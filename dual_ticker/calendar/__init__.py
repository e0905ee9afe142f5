"""NYSE sessions and a run's as_of within them."""
