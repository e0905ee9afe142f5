"""Section 4 of docs/BENCHMARKS.md: peak memory of every process the benchmarks measured."""

from __future__ import annotations


def memory_rows(results: dict) -> list[str]:
    lines = ["| process | peak RSS | measured how |", "|---|---|---|"]
    memory = results.get("memory")
    if memory:
        pipeline = memory["pipeline"]
        lines.append(
            f"| year backfill, pipeline (`bench.backfill pipeline`) | {pipeline['kernel_peak_rss_mb']:.0f} MB | "
            f"kernel high-water mark of the child (wait4); self-reported "
            f"{pipeline['self_reported']['peak_rss_mb']:.0f} MB; sampled every 50 ms: "
            f"{pipeline['sampled_peak_rss_mb']:.0f} MB, during `{pipeline['peak_stage']}` |"
        )
        lines.append(
            f"| same imports, no data | {memory['imports_only']['kernel_peak_rss_mb']:.0f} MB | "
            "kernel high-water mark (the fixed part of the above) |"
        )
    backfill = results.get("backfill")
    if backfill:
        for key, label in (("cli_year", "a year"), ("cli_five_years", "5 years")):
            if key in backfill:
                lines.append(
                    f"| backfill of {label} through `dagster asset materialize` | "
                    f"{backfill[key]['peak_rss_mb']:.0f} MB | `/usr/bin/time` %M (benchmark 2) |"
                )
        lines.append(
            f"| year backfill, naive baseline | {backfill['naive']['child']['peak_rss_mb']:.0f} MB | "
            "`/usr/bin/time` %M (benchmark 2) |"
        )
    sidecar = results.get("sidecar")
    if sidecar:
        lines.append(
            f"| monitoring sidecar, end of the {sidecar['seconds']:g} s load | "
            f"{sidecar['load']['sidecar_vm_hwm_mb']:.0f} MB | VmHWM (benchmark 3) |"
        )
    minute = results.get("minute")
    if minute:
        for role, mb in sorted(minute.get("memory", {}).get("peak_rss_mb", {}).items()):
            lines.append(
                f"| `make run` stack: {role} | {mb:.0f} MB | VmHWM summed per role, sampled every 0.5 s (benchmark 1) |"
            )
    return lines + [""]
