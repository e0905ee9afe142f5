"""Table cells of docs/BENCHMARKS.md: durations and a target's verdict."""

from __future__ import annotations


def format_ms(value) -> str:
    return "-" if value is None else f"{value:.1f} ms"


def format_seconds(value) -> str:
    return "-" if value is None else f"{value:.2f} s"


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"
