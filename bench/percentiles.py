"""Latency summaries of the benchmarks: nearest-rank percentiles, in seconds or milliseconds."""

from __future__ import annotations

import statistics


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (no interpolation: a reported p95 is a latency that happened)."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(-(-share * len(ordered) // 1)) - 1))]


def summary(values: list[float]) -> dict:
    """Seconds: n, p50, p95, max, mean (just n when there is nothing to summarise)."""
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "p50": round(percentile(values, 0.5), 3),
        "p95": round(percentile(values, 0.95), 3),
        "max": round(max(values), 3),
        "mean": round(statistics.fmean(values), 3),
    }


def stats_ms(values: list[float]) -> dict:
    """Seconds in, milliseconds out: n, p50, p95, p99, max, mean."""
    return {
        "n": len(values),
        "p50": round(percentile(values, 0.5) * 1000, 2),
        "p95": round(percentile(values, 0.95) * 1000, 2),
        "p99": round(percentile(values, 0.99) * 1000, 2),
        "max": round(max(values) * 1000, 2),
        "mean": round(statistics.fmean(values) * 1000, 2),
    }
