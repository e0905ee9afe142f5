"""Benchmark 4: peak memory of the year backfill (the lead's `python -m bench.backfill pipeline`),
measured from outside: the kernel's high-water mark of the child (wait4 rusage) and its RSS
sampled every 50 ms, beside a child that only imports the same code (the fixed cost).

    python -m bench.memory [--json out.json]

`run_child` and `year_databases` are shared with `python -m bench` (benchmark 2)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

from dual_ticker.settings import PROJECT_ROOT

SAMPLE_SECONDS = 0.05


def _rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def run_child(args: list[str], env: dict | None = None) -> dict:
    """Runs `python ARGS` to the end; its stdout, the kernel's peak RSS of it (wait4), and the
    largest RSS seen by sampling, with when it was seen."""
    began = time.perf_counter()
    errors = tempfile.TemporaryFile("w+")  # a file, not a pipe: a chatty child never blocks on it
    process = subprocess.Popen(
        [sys.executable, *args],
        cwd=PROJECT_ROOT,
        env=env or os.environ.copy(),
        stdout=subprocess.PIPE,
        stderr=errors,
        text=True,
    )
    samples: list[tuple[float, float]] = []

    def sample() -> None:
        while process.returncode is None:
            rss = _rss_mb(process.pid)
            if rss is not None:
                samples.append((time.perf_counter() - began, rss))
            time.sleep(SAMPLE_SECONDS)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    sampler.join()
    errors.seek(0)
    stderr = errors.read()
    errors.close()
    if process.returncode != 0:
        raise RuntimeError(
            f"python {' '.join(args[:3])} failed ({process.returncode}):\n{stderr[-2000:]}"
        )
    peak_at, peak = max(samples, key=lambda s: s[1]) if samples else (None, None)
    return {
        "stdout": stdout,
        "seconds": round(time.perf_counter() - began, 2),
        "kernel_peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "sampled_peak_rss_mb": None if peak is None else round(peak, 1),
        "sampled_peak_at_seconds": None if peak_at is None else round(peak_at, 2),
    }


@contextmanager
def year_databases(*names: str):
    """A private home with an embedded server, a fresh migrated database per name and the year's
    replay files; yields ({name: url}, replay folder); stops the server and removes the home."""
    from bench.databases import create_database, with_database
    from bench.year_data import write_year
    from dual_ticker.storage import embedded
    from dual_ticker.storage.migrations import apply_migrations

    home = Path(tempfile.mkdtemp(prefix="dt-bench-year-"))
    saved = {
        name: os.environ.pop(name, None)
        for name in ("DUAL_TICKER_DATABASE_URL", "DUAL_TICKER_HOME")
    }
    os.environ["DUAL_TICKER_HOME"] = str(home)
    try:
        admin = with_database(embedded.start(home), "postgres")
        write_year(home / "replay")
        urls = {name: create_database(admin, f"bench_{name}") for name in names}
        for url in urls.values():
            apply_migrations(url)
        yield urls, home / "replay"
    finally:
        embedded.stop(home)
        shutil.rmtree(home, ignore_errors=True)
        os.environ.pop("DUAL_TICKER_HOME")
        os.environ.update({name: value for name, value in saved.items() if value is not None})


def run_benchmark() -> dict:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    fixed = run_child(["-c", "import bench.backfill, dual_ticker.storage.database"], env)
    with year_databases("pipeline") as (urls, replay):
        backfill = run_child(
            ["-m", "bench.backfill", "pipeline", urls["pipeline"], str(replay)], env
        )
    reported = json.loads(backfill.pop("stdout").strip().splitlines()[-1])
    fixed.pop("stdout")
    return {
        "benchmark": "memory",
        "pipeline": {
            **backfill,
            "self_reported": reported,
            "peak_stage": peak_stage(backfill, reported),
        },
        "imports_only": fixed,
        "target_mb": 1024,
    }


def peak_stage(child: dict, reported: dict) -> str | None:
    """The stage running when the sampled peak was seen (approximate: the child's start-up is
    taken as its wall time minus the stages' sum)."""
    at = child["sampled_peak_at_seconds"]
    if at is None or "stages" not in reported:
        return None
    end = child["seconds"] - reported["seconds"]
    if at < end:
        return "start-up"
    for stage, seconds in reported["stages"].items():
        end += seconds
        if at <= end:
            return stage
    return "exit"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the result here (default: stdout)")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    text = json.dumps(run_benchmark(), indent=1)
    if args.json:
        args.json.write_text(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
