"""Benchmarks: `make bench` (python -m bench) runs them; results go to docs/BENCHMARKS.md."""
