"""Peak memory of every process of the `make run` stack: a thread that reads VmHWM of the stack
command's descendants and of the embedded PostgreSQL's processes, summed by role."""

from __future__ import annotations

import threading
from pathlib import Path

ROLES = (
    ("dagster_webserver", "webserver"),
    ("dagster-webserver", "webserver"),
    ("dagster._daemon", "daemon"),
    ("dagster-daemon", "daemon"),
    ("api grpc", "code server"),
    ("code-server", "code server"),
    ("dagster dev", "dagster dev"),
    ("dual_ticker.monitoring", "sidecar"),
    ("run_workers", "run worker"),
    ("dual_ticker run", "make run supervisor"),
    ("postgres", "postgres"),
    ("tail -F", "dagster dev log tails"),
    ("python", "other python"),
)


def _processes() -> dict[int, tuple[str, int, float]]:
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            fields = dict(
                line.split(":", 1) for line in (entry / "status").read_text().splitlines()
            )
            found[int(entry.name)] = (
                command or fields["Name"].strip(),
                int(fields["PPid"]),
                int(fields["VmHWM"].split()[0]) / 1024,
            )
        except (OSError, KeyError, ValueError):
            continue
    return found


class StackMemory(threading.Thread):
    """Peak RSS in MB per role (processes of a role summed), sampled every 0.5 s."""

    def __init__(self, stack_pid: int, pgdata: Path) -> None:
        super().__init__(daemon=True)
        self.stack_pid, self.pgdata = stack_pid, pgdata
        self.peaks: dict[str, float] = {}
        self.counts: dict[str, int] = {}
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.wait(0.5):
            self.sample()

    def stop(self) -> dict:
        self._halt.set()
        self.join()
        return {"peak_rss_mb": self.peaks, "processes": self.counts}

    def _postmaster(self) -> int | None:
        try:
            return int((self.pgdata / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def sample(self) -> None:
        found = _processes()
        roots = {self.stack_pid, self._postmaster()}
        members, grew = set(), True
        while grew:
            grew = False
            for pid, (_, parent, _) in found.items():
                if pid not in members and (pid in roots or parent in members):
                    members.add(pid)
                    grew = True
        totals: dict[str, float] = {}
        counts: dict[str, int] = {}
        for pid in members:
            command, _, peak = found[pid]
            role = next((name for key, name in ROLES if key in command), command[:40])
            totals[role] = totals.get(role, 0.0) + peak
            counts[role] = counts.get(role, 0) + 1
        for role, total in totals.items():
            self.peaks[role] = round(max(self.peaks.get(role, 0.0), total), 1)
            self.counts[role] = max(self.counts.get(role, 0), counts[role])
