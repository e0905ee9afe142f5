"""A command run to its exit with its wall time, CPU time and peak RSS, measured by
`/usr/bin/time`: the kernel's high-water mark of a child (wait4) starts from its parent's RSS
when it forks, so a benchmark holding data would inflate its children's figure; `time` is small.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from dual_ticker.settings import PROJECT_ROOT

TIME = "/usr/bin/time"


@dataclass(frozen=True)
class Finished:
    output: str  # stdout and stderr, interleaved
    started: float  # epoch seconds, just before the command was started
    ended: float
    wall_seconds: float
    cpu_seconds: float
    peak_rss_mb: float


def run_measured(command: list[str], env: dict, what: str) -> Finished:
    """Runs command (cwd: the checkout) to its exit; raises with the output's tail on failure."""
    with tempfile.TemporaryDirectory(prefix="dt-bench-time-") as folder:
        figures = Path(folder) / "time"
        output = tempfile.TemporaryFile("w+")  # a file, not a pipe: a chatty child never blocks
        started, began = time.time(), time.perf_counter()
        done = subprocess.run(
            [TIME, "-f", "%M %U %S", "-o", str(figures), *command],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        wall, ended = time.perf_counter() - began, time.time()
        output.seek(0)
        text = output.read()
        output.close()
        if done.returncode != 0:
            raise RuntimeError(f"{what} failed ({done.returncode}):\n{text[-3000:]}")
        peak_kb, user, system = figures.read_text().split()[-3:]
    return Finished(
        output=text,
        started=started,
        ended=ended,
        wall_seconds=round(wall, 2),
        cpu_seconds=round(float(user) + float(system), 2),
        peak_rss_mb=round(int(peak_kb) / 1024, 1),
    )


def python_child(module_args: list[str], env: dict) -> Finished:
    """`python -m MODULE ARGS` in this interpreter, measured."""
    return run_measured([sys.executable, "-m", *module_args], env, module_args[0])
