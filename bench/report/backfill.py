"""Section 2 of docs/BENCHMARKS.md (and what `python -m bench.backfill` prints): the backfill users
run, through the CLI, beside the naive script, the data functions alone and the COPY floor, the
targets of issue 13, and where the CLI's time went."""

from __future__ import annotations


def backfill_section(result: dict) -> list[str]:
    floor = result["floor"]["seconds"]
    lines = [
        f"Server: PostgreSQL {result.get('postgres_version', '?')} "
        f"({'127.0.0.1:5432' if result['server'] == 'local' else 'embedded'}), "
        f"a fresh database per row. Load average (1/5/15 min) before / after: "
        f"{result['load_before']} / {result['load_after']}.",
        "",
        "| what | rows | wall | CPU of the process | peak RSS | wall / COPY floor | load at start |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, label in (
        ("cli_year", "**year through the CLI** (headline, start to exit)"),
        ("cli_five_years", "5 years through the CLI (2015-2019)"),
    ):
        if key in result:
            run = result[key]
            scaled = floor * run["rows"] / result["floor"]["rows"]["raw_bars"]  # the floor per row
            lines.append(
                f"| {label} | {run['rows']:,} | {run['wall_seconds']:.1f} s | "
                f"{run['cpu_seconds']:.1f} s | {run['peak_rss_mb']:.0f} MB | {run['wall_seconds'] / scaled:.1f}x"
                f"{'' if key == 'cli_year' else ' (the floor scaled to its rows)'} | {run['load_at_start']} |"
            )
    ui = result.get("ui_backfill")
    if ui:
        lines.append(
            f"| year as a UI backfill through the daemon (`launchPartitionBackfill` to the backfill "
            f"done; {ui['runs']} run) | {result['cli_year']['rows']:,} | {ui['wall_seconds']:.1f} s | "
            f"- | - | {ui['wall_seconds'] / floor:.1f}x | {ui['load_at_start']} |"
        )
    naive, pipeline = result["naive"], result["pipeline"]
    lines += [
        f"| naive script (`bench.backfill_data naive`, start to exit; work alone "
        f"{naive['seconds']:.1f} s) | {naive['rows']:,} | {naive['child']['seconds']:.1f} s | "
        f"{naive['child']['cpu_seconds']:.1f} s | "
        f"{naive['child']['peak_rss_mb']:.0f} MB | {naive['child']['seconds'] / floor:.1f}x | "
        f"{naive['load_at_start']} |",
        f"| data functions alone (`bench.backfill_data pipeline`: the assets' steps and chunks "
        f"without Dagster, after imports) | {pipeline['rows']:,} | {pipeline['seconds']:.1f} s | "
        f"{pipeline['child']['cpu_seconds']:.1f} s (whole process) | "
        f"{pipeline['child']['peak_rss_mb']:.0f} MB | {pipeline['seconds'] / floor:.1f}x | "
        f"{pipeline['load_at_start']} |",
        f"| floor: `COPY` into `raw_bars` + `dual_ticker_bars` (CSV prepared beforehand) "
        f"| {result['floor']['rows']['raw_bars']:,} each | {floor:.2f} s "
        f"({', '.join(f'{t} {s:.2f}' for t, s in result['floor']['tables'].items())}) | - | - | 1x | "
        f"{result['floor']['load_at_start']} |",
        "",
        "| target (issue 13) | measured | ratio | | missed by, and why |",
        "|---|---|---|---|---|",
    ]
    for target in result["targets"]:
        lines.append(
            f"| {target['what']} {target['target']} | {target['value']:g} {target['unit']} | "
            f"{target['ratio']:.2f}x | {'PASS' if target['met'] else '**MISS**'} | "
            f"{'' if target['met'] else target['miss'] + ': ' + target['why']} |"
        )
    lines += ["", *where_time_went(result), ""]
    return lines


def where_time_went(result: dict) -> list[str]:
    cli = result["cli_year"]
    wall = cli["wall_seconds"]
    lines = [
        "Where the year's CLI time went (event timestamps stored by Dagster; the steps' logged "
        "durations: "
        + ", ".join(f"{step} {s:.2f} s" for step, s in cli["step_seconds_logged"].items())
        + f"; {cli['progress_lines']} progress lines printed):",
        "",
        "| part | seconds | share | largest RSS sampled |",
        "|---|---|---|---|",
    ]
    rss = cli.get("rss_by_part_mb", {})
    for part, seconds in cli["breakdown"].items():
        sampled = f"{rss[part]:.0f} MB" if part in rss else "-"
        lines.append(f"| {part} | {seconds:.2f} | {seconds / wall:.0%} | {sampled} |")
    startup = {k: v for k, v in result["startup"]["parts"].items() if k != "child"}
    lines += [
        "",
        "Start-up parts, each timed alone in a fresh process on another fresh database: "
        + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in startup.items())
        + ".",
        "",
        f"Events Dagster wrote for the run: {cli['events']['event_logs']:,} rows in `event_logs` ("
        + ", ".join(f"{kind} {n:,}" for kind, n in cli["events"]["by_type"].items())
        + f") and {cli['events']['asset_check_executions']:,} rows in `asset_check_executions`. "
        "A step's compute includes writing its materializations: a range run's assets record "
        "their sessions as materialized a batch per chunk, as each chunk commits; "
        '"Dagster events" is what Dagster writes after the asset returns (its outputs and '
        "check evaluations).",
    ]
    ui = result.get("ui_backfill")
    if ui:
        lines += [
            "",
            "The UI backfill, seconds after the mutation: "
            + ", ".join(f"{name} {at:.1f}" for name, at in ui["milestones"].items())
            + " (the daemon launches the run and notices it finished on its backfill ticks).",
        ]
    five = result.get("cli_five_years")
    if five:
        lines += [
            "",
            f"5 years: {five['wall_seconds']:.1f} s wall, {five['cpu_seconds']:.1f} s CPU, "
            f"{five['events']['event_logs']:,} events; parts: "
            + ", ".join(f"{part} {s:.1f}" for part, s in five["breakdown"].items())
            + "; largest RSS sampled per part (MB): "
            + ", ".join(f"{part} {mb:.0f}" for part, mb in five.get("rss_by_part_mb", {}).items())
            + ".",
        ]
    return lines
