"""Section 1 of docs/BENCHMARKS.md: minute latency per executor, where the time goes, and why a
missed target is missed."""

from __future__ import annotations

from bench.report.cells import format_seconds

PHASES = {
    "submit": "scheduler's work: schedule evaluated in the code server, run created (plan + 12 planned-event rows), enqueued",
    "queued": "waiting for the run-queue daemon's next pass (`dequeue_interval_seconds`)",
    "launch": "run launcher asks the code server to spawn a run worker; it imports Dagster and opens the instance",
    "load_job": "the worker imports the code location (pandas, pandera, TA-Lib, exchange_calendars, ib_async, ...)",
    "to_first_step": "plan, resources; multiprocess: the first step's process (forkserver: the server's preload too)",
    "step_raw_bars": "fetch (Alpha Vantage simulator), land, gate: 6 blocking checks",
    "step_validated_bars": "gated rows to bars (multiprocess: incl. this step's process start)",
    "step_features": "400+ stored bars of warm-up + indicators + bounds check",
    "step_dual_ticker_bars": "upsert in one transaction, until the 50 ms poll sees both rows",
    "after_commit": "(not in the latency) positions step and run end",
}


def minute_section(result: dict) -> list[str]:
    variants = result["variants"]
    floor = result["process_floor"]
    lines = [
        f"Session {result['session']}, ticks {result['first_tick'][11:16]}..{result['last_tick'][11:16]} New York, "
        "each variant's ticks spread evenly over the replay (each waits for the previous run to finish). "
        f"Instance: the project's `dagster.yaml` (PostgreSQL storage on the embedded server, QueuedRunCoordinator, "
        f"`dequeue_interval_seconds: {result['dequeue_interval_seconds']}`), a real `dagster-daemon run`, "
        f"{result['environment']}; sensors running as in production.",
        "",
        "| variant | executor | ticks | failed | p50 | p95 | max | tick to run end, p50 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    executors = {
        "in_process": "`in_process_executor` (the project's `minute_job`)",
        "multiprocess": "`multiprocess_executor` (Dagster's default, spawn)",
        "forkserver": "`multiprocess_executor`, `start_method: forkserver`, code preloaded",
    }
    for name, data in variants.items():
        latency = data["latency"]
        lines.append(
            f"| {name} | {executors[name]} | {data['ticks']} | {data['failed']} | {format_seconds(latency.get('p50'))} "
            f"| {format_seconds(latency.get('p95'))} | {format_seconds(latency.get('max'))} | {format_seconds(data['run_seconds'].get('p50'))} |"
        )
    lines += [
        "",
        "Where the time goes (p50 of each phase, seconds, from the runs' own event timestamps; "
        "the phases before `after_commit` add up to the latency):",
        "",
        "| phase | " + " | ".join(variants) + " | what |",
        "|---|" + "---|" * len(variants) + "---|",
    ]
    for phase, text in PHASES.items():
        cells = [
            f"{data['phases_p50'][phase]:.2f}" if phase in data["phases_p50"] else "-"
            for data in variants.values()
        ]
        lines.append(f"| {phase} | " + " | ".join(cells) + f" | {text} |")
    process = variants.get("in_process", {}).get("phases_p50", {})
    before_steps = sum(
        process.get(p, 0) for p in ("submit", "queued", "launch", "load_job", "to_first_step")
    )
    lines += [
        "",
        f"Floor of a new process per run (best of 3, measured in this run): interpreter start "
        f"{format_seconds(floor['python_start'])}, `import dagster` {format_seconds(floor['import_dagster'])}, import of the code location "
        f"{format_seconds(floor['import_code_location'])}. The graph itself, in process: {format_seconds(floor['graph_cold_process'])} "
        f"as the first run of a fresh process, {format_seconds(floor['graph_warm_process'])} in a warm one (one new bar each).",
        "",
    ]
    p95 = variants.get("in_process", {}).get("latency", {}).get("p95")
    if p95 is not None and p95 > 3:
        lines += [
            f"**Target missed** (p95 {format_seconds(p95)} > 3 s). In the in-process variant {before_steps:.2f} s (p50) "
            "pass before the first step starts: the scheduler's own run creation, the queue's next pass, and "
            "above all Dagster's run launcher starting a *new process per run* that imports Dagster and the "
            f"code location again ({format_seconds(floor['import_code_location'])} of imports alone on this machine). The "
            f"steps then run in a cold process: {format_seconds(floor['graph_cold_process'])} for the graph against "
            f"{format_seconds(floor['graph_warm_process'])} in a warm one. So with the queue (its tag limit keeps minute "
            "runs from overlapping) and a run worker per run, about "
            f"{format_seconds(before_steps + floor['graph_warm_process'])} (p50) is the floor here even with warm steps; "
            + (
                "3 s needs either no new process per run or a faster machine. "
                if before_steps + floor["graph_warm_process"] >= 3
                else "that leaves no room under 3 s for the cold steps and the machine's jitter, so a p95 "
                "within 3 s needs either no new process per run or a faster machine. "
            )
            + "The multiprocess executor adds a "
            "process per step (each re-imports the code); forkserver, a configuration of that executor, forks "
            "the steps from one preloaded server and saves much of it, but stays above the in-process executor.",
            "",
            cold_step_costs(floor),
            "",
            "Checked and not worth it: `dequeue_interval_seconds` is already 1 (an integer; the daemon's loop "
            "waits in 0.5 s slices); `should_autocreate_tables: false` saves about 50 ms of instance start; "
            "`DAGSTER_EVENT_BATCH_SIZE` does not batch these events; PostgreSQL commits take about 0.2 ms here. "
            "Not measured as a variant: the default (unqueued) run coordinator would save the `queued` phase but "
            "drops the one-at-a-time limit on minute runs.",
            "",
        ]
    peaks = result.get("dagster_peak_rss_mb", {})
    if peaks:
        lines += [
            "Peak RSS of Dagster's processes during the ticks: "
            + ", ".join(f"{role} {mb:.0f} MB" for role, mb in sorted(peaks.items()))
            + ".",
            "",
        ]
    lines += [
        "Method: the scheduler ticks on wall-clock minutes, so each tick is replayed the way the scheduler daemon "
        "handles it: `minute_schedule` evaluated in the code server for the tick time (it builds `minute_request(t)`: "
        "partition, `dual_ticker/as_of` tag, run key), the run created with the scheduler's own function and "
        "submitted to the instance's QueuedRunCoordinator; the daemon dequeues it and its default run launcher starts "
        "the run worker. The latency runs from just before the schedule evaluation to the moment a 50 ms poll "
        "of `dual_ticker_bars` sees both symbols' bar starting at t - 1 min. The simulators' now is set to the tick; "
        "the runs' clock is the project's injectable clock reading the tick the benchmark writes (now = tick + wall "
        "time since), so `now - as_of` is what it is live. Before the ticks: the two previous sessions are backfilled "
        "(indicator warm-up) and one untimed warm-up run opens the session. The code location is "
        "`bench/multiprocess_definitions.py`: the project's definitions plus the two multiprocess jobs.",
        "",
    ]
    return lines


def cold_step_costs(floor: dict) -> str:
    """Where a cold process's steps lose time: the fallback feed's import as measured in this run
    (a run the primary serves should not pay it), the rest from a one-off profile."""
    profiled = (
        "about 0.2 s enumerating the 26 years of session partition keys (Dagster, once per "
        "process) and Dagster's data-version lookups (one-off cProfile of a first in-process run, "
        "not re-measured by `make bench`)"
    )
    imported, cost = floor.get("run_imports_fallback_feed"), floor.get("import_fallback_feed")
    if imported is None:  # a report from before the fallback's import was measured
        return f"Where the cold steps lose time: {profiled}."
    if imported:
        return (
            "Where the cold steps lose time: the Yahoo fallback is still built on every run even "
            f"when the primary answers, so each run worker imports yfinance ({format_seconds(cost)} "
            "measured in this run, on top of the code location's imports): "
            "`FeedResource.clients()` builds every configured feed up front, and the on-first-use "
            "wrapper in `dual_ticker/resources.py` is not used by it yet. Building the fallback "
            f"only when it is asked is the cheapest code-side saving. Beyond that, {profiled}."
        )
    return (
        "Where the cold steps lose time: not in the Yahoo fallback any more; it is built lazily, "
        "on first use, so a run the primary serves does not import yfinance (checked in this run; "
        f"the import would cost {format_seconds(cost)}). What remains: {profiled}."
    )
