"""The backfill a user runs: `dagster asset materialize` of the four market-data assets over a
partition range, as a subprocess from command start to exit, on a fresh database; its wall time,
peak RSS and CPU, and where the time went, read from its event lines and from the events Dagster
stored (the run's Dagster storage is the same database)."""

from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path

from bench.databases import execute
from bench.measured_process import run_measured

ASSETS = "raw_bars,validated_bars,features,dual_ticker_bars"
EVENT_LINE = re.compile(
    r"^(?P<at>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}) - dagster - \w+ - \S+ - "
    r"(?P<run>[0-9a-f-]{36}) - (?:\d+ - )?(?:(?P<step>[a-z_]+) - )?(?P<event>[A-Z_]+) - (?P<text>.*)$"
)
PROGRESS_LINE = re.compile(r"^.* \d+/\d+ sessions, [\d.]+ sessions/s, ETA \d+ s$", re.MULTILINE)
STEP_SECONDS = re.compile(r'Finished execution of step "(\w+)" in (\S+?)\.?$')
DURATION_PART = re.compile(r"([\d.]+)(ms|h|m|s)")  # Dagster's format: 533ms, 2.1s, 4m52s, 1h4m
UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
# Events a step writes once its asset has returned: Dagster's own bookkeeping, not the data work.
# (A range run's materializations are written by its assets, a batch per chunk, during compute.)
AFTER_COMPUTE = ("STEP_OUTPUT", "ASSET_CHECK_EVALUATION")


def command(first: str, last: str) -> list[str]:
    dagster = str(Path(sys.executable).with_name("dagster"))
    return [
        dagster,
        "asset",
        "materialize",
        "-m",
        "dual_ticker.definitions",
        "--select",
        ASSETS,
        "--partition-range",
        f"{first}...{last}",
    ]


def shown(first: str, last: str) -> str:
    return (
        "dagster asset materialize -m dual_ticker.definitions "
        f"--select '{ASSETS}' --partition-range {first}...{last}"
    )


def run_cli(url: str, replay: Path, first: str, last: str) -> dict:
    """The command, start to exit, with the fresh database, the seeded replay and a temporary
    home; cwd the checkout (its dagster.yaml). Raises with the output's tail if it fails."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DAGSTER_HOME", "DUAL_TICKER_ENV")
    }
    env.update(
        DUAL_TICKER_DATABASE_URL=url,
        DUAL_TICKER_REPLAY_DIR=str(replay),
        PYTHONWARNINGS="ignore",
    )
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="dt-bench-cli-home-") as home:
        env["DUAL_TICKER_HOME"] = home
        done = run_measured(command(first, last), env, shown(first, last))
    text = done.output
    lines = parsed_lines(text)
    run_id = next(line["run"] for line in lines if line["event"] == "RUN_START")
    spans = breakdown(url, run_id, done.started, done.ended)
    return {
        "command": shown(first, last),
        "wall_seconds": done.wall_seconds,
        "peak_rss_mb": done.peak_rss_mb,
        "cpu_seconds": done.cpu_seconds,
        "load_at_start": round(load, 2),
        "run_id": run_id,
        "step_seconds_logged": step_seconds(lines),
        "progress_lines": len(set(PROGRESS_LINE.findall(text))),
        "breakdown": seconds_by_part(spans),
        "rss_by_part_mb": rss_by_part(spans, done.rss_samples),
        "events": stored_events(url, run_id),
        "rows": execute(url, ["SELECT count(*) FROM dual_ticker_bars"])[0][0][0],
    }


def parsed_lines(text: str) -> list[dict]:
    """The CLI's event lines (it prints each through two handlers: kept once)."""
    seen, lines = set(), []
    for raw in text.splitlines():
        match = EVENT_LINE.match(raw)
        if match and raw not in seen:
            seen.add(raw)
            lines.append(match.groupdict())
    return lines


def step_seconds(lines: list[dict]) -> dict[str, float]:
    """Each STEP_SUCCESS line's own duration, as Dagster reports it."""
    seconds = {}
    for line in lines:
        found = STEP_SECONDS.search(line["text"]) if line["event"] == "STEP_SUCCESS" else None
        if found:
            parts = DURATION_PART.findall(found.group(2))
            seconds[found.group(1)] = round(sum(float(n) * UNIT_SECONDS[u] for n, u in parts), 3)
    return seconds


def breakdown(url: str, run_id: str, started: float, ended: float) -> list[tuple]:
    """The parts of the command's time as (name, begin, end) epoch seconds, from the events Dagster
    stored: command start to the run's creation (imports, instance, code location, range, plan),
    to RUN_START, then per step its compute and the events Dagster writes after it, and from the
    last step to exit."""
    rows = execute(
        url,
        [
            "SELECT dagster_event_type, step_key, extract(epoch FROM timestamp) FROM event_logs "
            f"WHERE run_id = '{run_id}' AND dagster_event_type IS NOT NULL ORDER BY id"
        ],
    )[0]
    at = [(kind, step, float(epoch)) for kind, step, epoch in rows]
    created = min(epoch for _, _, epoch in at)
    run_start = next(epoch for kind, _, epoch in at if kind == "PIPELINE_START")
    spans = [
        ("start to run created", started, created),
        ("run created to RUN_START", created, run_start),
    ]
    previous = run_start
    for step in dict.fromkeys(step for kind, step, _ in at if kind == "STEP_START"):
        mine = [(kind, epoch) for kind, key, epoch in at if key == step]
        begin = next(epoch for kind, epoch in mine if kind == "STEP_START")
        end = next(epoch for kind, epoch in mine if kind == "STEP_SUCCESS")
        written = min((epoch for kind, epoch in mine if kind in AFTER_COMPUTE), default=end)
        spans += [
            ("between steps", previous, begin),  # the first: RUN_START to it (resources)
            (f"{step}: compute", begin, written),
            (f"{step}: Dagster events", written, end),
        ]
        previous = end
    return [*spans, ("last step to exit", previous, ended)]


def seconds_by_part(spans: list[tuple[str, float, float]]) -> dict[str, float]:
    parts: dict[str, float] = {}
    for name, begin, end in spans:
        parts[name] = parts.get(name, 0.0) + end - begin
    return {name: round(seconds, 2) for name, seconds in parts.items()}


def rss_by_part(spans: list[tuple[str, float, float]], samples: list) -> dict[str, float]:
    """The largest RSS sampled during each part (parts too short to be sampled are left out)."""
    peaks: dict[str, float] = {}
    for name, begin, end in spans:
        seen = [mb for at, mb in samples if begin <= at < end]
        if seen:
            peaks[name] = round(max(max(seen), peaks.get(name, 0.0)), 1)
    return peaks


def stored_events(url: str, run_id: str) -> dict:
    """What Dagster wrote for the run: event_logs rows by type, and check execution rows."""
    by_type, checks = execute(
        url,
        [
            "SELECT coalesce(dagster_event_type, 'log message'), count(*) FROM event_logs "
            f"WHERE run_id = '{run_id}' GROUP BY 1 ORDER BY 2 DESC",
            f"SELECT count(*) FROM asset_check_executions WHERE run_id = '{run_id}'",
        ],
    )
    counts = dict(by_type)
    return {
        "event_logs": sum(counts.values()),
        "by_type": counts,
        "asset_check_executions": checks[0][0],
    }
