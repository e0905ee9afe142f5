"""Section 2 of docs/BENCHMARKS.md: the year backfill, pipeline against the naive baseline."""

from __future__ import annotations


def backfill_section(result: dict) -> list[str]:
    lines = [
        "| mode | rows | seconds | rows/s | peak RSS (self-reported / kernel) |",
        "|---|---|---|---|---|",
    ]
    for mode in ("pipeline", "naive"):
        data = result[mode]
        lines.append(
            f"| {mode} | {data['rows']:,} | {data['seconds']:.2f} | {data['rows'] / data['seconds']:,.0f} | "
            f"{data['peak_rss_mb']:.0f} / {data['child']['kernel_peak_rss_mb']:.0f} MB |"
        )
    stages = result["pipeline"].get("stages", {})
    lines += [
        "",
        f"Naive / pipeline: **{result['ratio_naive_to_pipeline']}x**. Pipeline stages (s): "
        + ", ".join(f"{name} {seconds:.2f}" for name, seconds in stages.items())
        + ".",
        "",
    ]
    if result["pipeline"]["seconds"] > 10 or result["ratio_naive_to_pipeline"] < 10:
        lines += [
            "Missed targets here belong to the pipeline path and `bench/backfill.py` (the lead's, under "
            "active work); these are its numbers as measured in this run. Largest stages: "
            + ", ".join(
                f"{name} {seconds:.2f} s"
                for name, seconds in sorted(stages.items(), key=lambda item: -item[1])[:2]
            )
            + ". For the ratio: the naive baseline shares the vectorised feature code "
            "(`compute_features`) and writes with a chunked `pandas.to_sql`, without landing raw bars or "
            "running the gate; `bench/backfill.py` does not break its time down.",
            "",
        ]
    return lines
