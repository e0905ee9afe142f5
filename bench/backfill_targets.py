"""The targets of issue 13 against one run of bench.backfill: each with its measured value, the
ratio to what it is held against, PASS or MISS, and for a miss by how much and where the time or
memory went (the CLI's breakdown beside the data functions and the floor)."""

from __future__ import annotations

YEAR_SECONDS = 10.0
FLOOR_FACTOR = 8.0
RSS_GROWTH = 1.25
RSS_LIMIT_MB = 1024.0


def targets(result: dict) -> list[dict]:
    cli = result.get("cli_year")
    if not cli:
        return []
    wall, why = cli["wall_seconds"], time_spent(result)
    naive = result["naive"]["child"]["seconds"]
    floor = result["floor"]["seconds"]
    rows = [
        _target("year through the CLI, wall", "<= 10 s", wall, wall / YEAR_SECONDS, why, "s"),
        _target(
            "year through the CLI vs the naive script (wall, start to exit)",
            "< 1x",
            wall,
            wall / naive,
            why,
            "s",
            limit=1.0,
            strict=True,
        ),
        _target(
            "year through the CLI vs the COPY floor",
            "<= 8x",
            wall,
            wall / floor,
            why,
            "s",
            limit=FLOOR_FACTOR,
        ),
    ]
    five = result.get("cli_five_years")
    if five:
        one, many = cli["peak_rss_mb"], five["peak_rss_mb"]
        memory = memory_growth(cli, five, result.get("recordings"))
        rows += [
            _target(
                "peak RSS, 5 years / 1 year",
                "<= 1.25x",
                many,
                many / one,
                memory,
                "MB",
                limit=RSS_GROWTH,
            ),
            _target(
                "peak RSS, 5 years", "< 1 GB", many, many / RSS_LIMIT_MB, memory, "MB", strict=True
            ),
        ]
    return rows


def _target(what, target, value, ratio, why, unit, limit=1.0, strict=False) -> dict:
    met = ratio < limit if strict else ratio <= limit
    return {
        "what": what,
        "target": target,
        "value": round(value, 2),
        "unit": unit,
        "ratio": round(ratio, 2),
        "met": met,
        "miss": None if met else f"{ratio / limit:.1f}x the target",
        "why": None if met else why,
    }


def time_spent(result: dict) -> str:
    """The CLI's wall time in its parts, largest first, with the data functions' own time."""
    cli, parts = result["cli_year"], result["cli_year"]["breakdown"]
    events = sum(seconds for name, seconds in parts.items() if name.endswith("Dagster events"))
    before = parts["start to run created"] + parts["run created to RUN_START"]
    steps = {
        name.split(":")[0]: seconds for name, seconds in parts.items() if name.endswith(": compute")
    }
    largest = sorted(steps.items(), key=lambda item: -item[1])[:2]
    pipeline = result["pipeline"]
    return (
        f"{before:.1f} s before RUN_START (start-up: "
        + ", ".join(
            f"{name} {s:.1f} s" for name, s in result["startup"]["parts"].items() if name != "child"
        )
        + f"); the steps' own work {sum(steps.values()):.1f} s (largest "
        + ", ".join(f"{name} {s:.1f} s" for name, s in largest)
        + f"); Dagster's event writes after the steps {events:.1f} s "
        f"({cli['events']['event_logs']:,} events, {cli['events']['asset_check_executions']:,} "
        f"check rows); the same data functions alone take {pipeline['seconds']:.1f} s "
        f"({pipeline['seconds'] / result['floor']['seconds']:.1f}x the floor); "
        f"the CLI used {cli['cpu_seconds']:.1f} s of CPU in {cli['wall_seconds']:.1f} s "
        f"(load {cli['load_at_start']} on {_cpus()} CPUs: the rest is waiting on PostgreSQL and the CPU)"
    )


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0))


def memory_growth(one: dict, five: dict, recordings: dict | None) -> str:
    """Where each run's RSS peaked, by part (sampled every 0.2 s)."""

    def peaks(run: dict) -> str:
        by_part = run.get("rss_by_part_mb", {})
        largest = sorted(by_part.items(), key=lambda item: -item[1])[:3]
        return ", ".join(f"{name} {mb:.0f} MB" for name, mb in largest) or "not sampled"

    held = ""
    if recordings:
        one_mb, five_mb = (recordings[k]["rss_growth_mb"] for k in ("year", "five_years"))
        held = (
            f"; the replay feed reads each recording a piece at a time: walking it through "
            f"the range adds {one_mb:.0f} MB for the year, {five_mb:.0f} MB for the 5 years "
            f"({five_mb - one_mb:+.0f} MB of the "
            f"{five['peak_rss_mb'] - one['peak_rss_mb']:+.0f} MB), measured alone"
        )
    return (
        f"peak RSS 1 year {one['peak_rss_mb']:.0f} MB (largest in {peaks(one)}); 5 years "
        f"{five['peak_rss_mb']:.0f} MB ({peaks(five)}){held}"
    )
