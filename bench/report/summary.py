"""The summary table of docs/BENCHMARKS.md: each target of issue 8 beside its measured result."""

from __future__ import annotations

from bench.report.cells import format_ms, format_seconds, verdict


def summary_rows(results: dict) -> list[str]:
    rows = ["| # | what | target | result | |", "|---|---|---|---|---|"]
    minute = results.get("minute", {})
    for name, target in (("instant", 1.5), ("150ms", 1.7)):
        data = minute.get("variants", {}).get(name)
        if data and data["latency"].get("n"):
            p95 = data["latency"]["p95"]
            rows.append(
                f"| 1 | minute latency through the scheduler on `make run`, tick to both rows committed, "
                f"p95 ({name} feeds, {data['latency']['n']} ticks) | <= {target} s | p95 {format_seconds(p95)}, "
                f"p50 {format_seconds(data['latency']['p50'])} | {verdict(p95 <= target)} |"
            )
    first = minute.get("first_tick") or {}
    if first.get("latency") is not None:
        rows.append(
            f"| 1 | first tick after `make run` starts, tick to commit | <= 10 s | "
            f"{format_seconds(first['latency'])} | {verdict(first['latency'] <= 10)} |"
        )
    for target in results.get("backfill", {}).get("targets", []):
        rows.append(
            f"| 2 | backfill: {target['what']} | {target['target']} | "
            f"{target['value']:g} {target['unit']} ({target['ratio']:.2f}x) | {verdict(target['met'])} |"
        )
    sidecar = results.get("sidecar")
    if sidecar:
        load = sidecar["load"]
        p99 = load["latency_ms"]["p99"] if load["latency_ms"] else None
        ok = p99 is not None and p99 < 50 and not load["errors"]
        rows.append(
            f"| 3 | `/monitoring/metrics` p99 at {sidecar['rate']:g} req/s for {sidecar['seconds']:g} s, "
            f"year of history | < 50 ms | p99 {format_ms(p99)}, {sum(load['errors'].values())} errors | "
            f"{verdict(ok)} |"
        )
        p50 = {
            name: cost["sidecar_scrape_ms"]["p50"] for name, cost in sidecar["scrape_cost"].items()
        }
        flat = p50["year"] / p50["month"]
        rows.append(
            f"| 3 | scrape cost flat as history grows: p50 with a year / with a month (12x the rows) "
            f"| ~1x | {flat:.2f}x ({p50['month']:.1f} -> {p50['year']:.1f} ms; empty database "
            f"{p50['empty']:.1f} ms, fewer series); naive history scan "
            f"{sidecar['naive_ratio_year_to_month']}x | {verdict(flat <= 1.5)} |"
        )
    memory = results.get("memory")
    if memory:
        peak = memory["pipeline"]["kernel_peak_rss_mb"]
        rows.append(
            f"| 4 | peak RSS of the year backfill | < 1 GB | {peak:.0f} MB | {verdict(peak < 1024)} |"
        )
    if sidecar:
        rows.append(
            f"| 4 | peak RSS of the sidecar under load | - | {sidecar['load']['sidecar_vm_hwm_mb']:.0f} MB | |"
        )
    return rows
