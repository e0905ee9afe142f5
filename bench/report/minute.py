"""Section 1 of docs/BENCHMARKS.md: minute latency through the scheduler on the `make run` stack
with warm run workers, where the time goes, and why a missed target is missed."""

from __future__ import annotations

from bench.report.cells import format_seconds

TARGETS = {"instant": 1.5, "150ms": 1.7}
FIRST_TICK_TARGET = 10.0
PHASES = {
    "scheduler": "scheduler daemon: wakes at the minute, evaluates `minute_schedule` in the code server, creates the run",
    "launch": "DefaultRunCoordinator launches at once: RunWorkerLauncher reports two engine events and puts the Celery task in the broker",
    "broker_to_worker": "a warm worker polls the task (0.1 s), tags the run, loads the job from its warm code location",
    "worker_to_first_step": "Dagster's run start in the worker: plan, resources, the minute lock",
    "steps_to_commit": "the steps in the warm process up to both rows committed in `dual_ticker_bars`",
}


def minute_section(result: dict) -> list[str]:
    first = result.get("first_tick") or {}
    lines = [
        f"Replay from {result['replay_start']} New York, {result['environment']}. Stack: "
        f"{result['stack']}; the scheduler daemon, sensors and UI run as for a user. Latency = "
        "`created_at` of both symbols' bar (start = as_of - 1 min) minus the tick "
        "(`.dagster/scheduled_execution_time`). The first tick after start is reported apart.",
        "",
        "| feeds | ticks | failed | p50 | p95 | max | target (p95) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, data in result["variants"].items():
        latency = data["latency"]
        lines.append(
            f"| {name} | {data['ticks']} | {data['failed']} | {format_seconds(latency.get('p50'))} | "
            f"{format_seconds(latency.get('p95'))} | {format_seconds(latency.get('max'))} | "
            f"<= {TARGETS[name]:.1f} s |"
        )
    if first:
        lines += [
            "",
            f"First tick after start ({first['tick'][11:19]} UTC, {format_seconds(first.get('stack_start_to_tick'))} "
            f"after `dual_ticker run` started): tick to commit {format_seconds(first.get('latency'))} "
            f"(target <= {FIRST_TICK_TARGET:.0f} s); phases "
            + ", ".join(f"{k} {format_seconds(v)}" for k, v in first["phases"].items())
            + ".",
        ]
    lines += [
        "",
        "Where the time goes (p50 / p95 of each phase, seconds; they add up to the latency):",
        "",
        "| phase | " + " | ".join(result["variants"]) + " | what |",
        "|---|" + "---|" * len(result["variants"]) + "---|",
    ]
    for phase, text in PHASES.items():
        cells = []
        for data in result["variants"].values():
            stats = data["phases"].get(phase, {})
            cells.append(
                f"{format_seconds(stats.get('p50'))} / {format_seconds(stats.get('p95'))}"
                if stats.get("n")
                else "-"
            )
        lines.append(f"| {phase} | " + " | ".join(cells) + f" | {text} |")
    lines += _misses(result)
    memory = result.get("memory", {})
    if memory.get("peak_rss_mb"):
        total = sum(memory["peak_rss_mb"].values())
        lines += [
            "",
            "Peak RSS of every process of the stack (VmHWM summed per role, sampled every 0.5 s): "
            + ", ".join(
                f"{role} {mb:.0f} MB ({memory['processes'].get(role, 1)})"
                for role, mb in sorted(memory["peak_rss_mb"].items())
            )
            + f"; {total:.0f} MB in all (shared pages counted in each process).",
        ]
    return lines + [""]


def _misses(result: dict) -> list[str]:
    """Why a missed target is missed, from this run's phases (and a one-off profile)."""
    missed = {
        name: data
        for name, data in result["variants"].items()
        if data["latency"].get("p95") is not None and data["latency"]["p95"] > TARGETS[name]
    }
    if not missed:
        return []
    name, data = next(iter(missed.items()))
    p50 = {phase: stats.get("p50") or 0.0 for phase, stats in data["phases"].items()}
    launch = sum(p50.get(k, 0.0) for k in ("launch", "broker_to_worker", "worker_to_first_step"))
    load = result.get("load_after")
    shown = ", ".join(f"{n}: p95 {format_seconds(d['latency']['p95'])}" for n, d in missed.items())
    return [
        "",
        f"**Target missed** ({shown}). "
        f"With {name} feeds the scheduler takes {format_seconds(p50.get('scheduler'))} (p50), getting the run "
        f"from its creation into a warm worker and to its first step {format_seconds(launch)}, and the steps "
        f"up to the commit {format_seconds(p50.get('steps_to_commit'))}"
        + (f"; the machine's load average was {load} at the end (2 cores, shared)" if load else "")
        + ". The launch costs what Dagster's own bookkeeping costs (planned-event rows written when the run is "
        "created, PIPELINE_STARTING, two launcher events, the Celery task row, the worker's tag), no process start "
        "or import. The steps: per run about 50 Dagster events written on one kept connection, the fetch (both "
        "symbols, one request each, sent at once: with slow feeds one request's latency is paid), the gate over the session's "
        "stored rows and the features over the session plus its warm-up, which grow through the day, then the "
        "upsert. Ticks that ran while other work used the machine (tests; see the load average) make the tail.",
    ]
