"""Section 3 of docs/BENCHMARKS.md: the monitoring sidecar under open-loop load, and its scrape
cost as history grows beside the naive scrape."""

from __future__ import annotations

from bench.report.cells import format_ms


def sidecar_section(result: dict) -> list[str]:
    load = result["load"]
    latency = load["latency_ms"] or {}
    errors_detail = f" {load['errors']}" if load["errors"] else ""
    lines = [
        f"Open loop: {load['requests']} requests at fixed send times ({result['rate']:g}/s for {result['seconds']:g} s, "
        "after a 5 s warm-up), each timed from its scheduled send time to the end of its response (no coordinated "
        f"omission), {load['connections_opened']} keep-alive connections. The sidecar is a real "
        "`python -m dual_ticker.monitoring` process (prod config) on the year database.",
        "",
        "| requests | answered | errors | achieved rate | p50 | p95 | p99 | max | sidecar peak RSS | sidecar CPU / request |",
        "|---|---|---|---|---|---|---|---|---|---|",
        f"| {load['requests']} | {load['answered']} | {sum(load['errors'].values())}{errors_detail} | "
        f"{load['achieved_rate']}/s | {format_ms(latency.get('p50'))} | {format_ms(latency.get('p95'))} | "
        f"{format_ms(latency.get('p99'))} | {format_ms(latency.get('max'))} | {load['sidecar_vm_hwm_mb']:.0f} MB | "
        f"{load['sidecar_cpu_ms_per_request']} ms |",
        "",
        f"Scrape cost as history grows: {result['scrapes_per_size']} sequential scrapes per size on one keep-alive "
        "connection (a new sidecar process per database). Baseline in the same run: the same metrics computed the "
        "naive way, by aggregating history per scrape (count/sum/max over raw_bars, feed_requests, quality_failures, "
        "dual_ticker_bars, runs; 20 repetitions).",
        "",
        "| history | raw_bars | dual_ticker_bars | feed_requests | quality_failures | alerts | Dagster runs | "
        "sidecar p50 | sidecar p95 | naive scrape p50 |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, cost in result["scrape_cost"].items():
        rows = result["history"][name]
        naive = cost["naive_scrape_ms"]
        lines.append(
            f"| {name} | {rows['raw_bars']:,} | {rows['dual_ticker_bars']:,} | {rows['feed_requests']:,} | "
            f"{rows['quality_failures']:,} | {rows['alerts']:,} | {rows['runs']:,} | "
            f"{format_ms(cost['sidecar_scrape_ms']['p50'])} | {format_ms(cost['sidecar_scrape_ms']['p95'])} | "
            f"{format_ms(naive['p50'] if naive else None)} |"
        )
    fill = result["year_fill"]
    lines += [
        "",
        f"History: the year through the lead's pipeline path (`bench.backfill pipeline`, {fill['seconds']} s), "
        "then SQL-made history of a year of minute runs (feed requests, quality failures, alerts, Dagster run "
        "rows) with the running totals recomputed from it; the month is that database cut to January 2019.",
        "",
    ]
    if "connect_ms" in result:
        lines += [
            f"A new PostgreSQL connection takes {format_ms(result['connect_ms']['p50'])} (p50 of 50, unix "
            "socket): the sidecar keeps its connections between requests (checked before use, so it "
            "recovers by itself when the database returns) and pays that only for its first ones; a scrape is "
            "the reads of totals and latest rows.",
            "",
        ]
    return lines
