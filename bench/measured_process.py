"""A command run to its exit with its wall time, CPU time and peak RSS, measured by
`/usr/bin/time`: the kernel's high-water mark of a child (wait4) starts from its parent's RSS
when it forks, so a benchmark holding data would inflate its children's figure; `time` is small.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from dual_ticker.settings import PROJECT_ROOT

TIME = "/usr/bin/time"
SAMPLE_SECONDS = 0.2


@dataclass(frozen=True)
class Finished:
    output: str  # stdout and stderr, interleaved
    started: float  # epoch seconds, just before the command was started
    ended: float
    wall_seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    rss_samples: list[tuple[float, float]]  # (epoch seconds, MB) of the command, every 0.2 s


def run_measured(command: list[str], env: dict, what: str) -> Finished:
    """Runs command (cwd: the checkout) to its exit; raises with the output's tail on failure."""
    with tempfile.TemporaryDirectory(prefix="dt-bench-time-") as folder:
        figures = Path(folder) / "time"
        output = tempfile.TemporaryFile("w+")  # a file, not a pipe: a chatty child never blocks
        started, began = time.time(), time.perf_counter()
        process = subprocess.Popen(
            [TIME, "-f", "%M %U %S", "-o", str(figures), *command],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        samples: list[tuple[float, float]] = []
        sampler = threading.Thread(target=_sample, args=(process, samples), daemon=True)
        sampler.start()
        process.wait()
        sampler.join()
        wall, ended = time.perf_counter() - began, time.time()
        output.seek(0)
        text = output.read()
        output.close()
        if process.returncode != 0:
            raise RuntimeError(f"{what} failed ({process.returncode}):\n{text[-3000:]}")
        peak_kb, user, system = figures.read_text().split()[-3:]
    return Finished(
        output=text,
        started=started,
        ended=ended,
        wall_seconds=round(wall, 2),
        cpu_seconds=round(float(user) + float(system), 2),
        peak_rss_mb=round(int(peak_kb) / 1024, 1),
        rss_samples=samples,
    )


def _sample(process: subprocess.Popen, samples: list) -> None:
    """The RSS of time's child (the command) until it exits."""
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    while process.poll() is None:
        try:
            child = children.read_text().split()
            status = Path(f"/proc/{child[0]}/status").read_text() if child else ""
        except OSError:
            status = ""
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                samples.append((time.time(), int(line.split()[1]) / 1024))
        time.sleep(SAMPLE_SECONDS)


def python_child(module_args: list[str], env: dict) -> Finished:
    """`python -m MODULE ARGS` in this interpreter, measured."""
    return run_measured([sys.executable, "-m", *module_args], env, module_args[0])
