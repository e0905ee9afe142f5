"""Peak memory by role of the Dagster processes the minute-latency benchmark starts: a thread
that reads VmHWM of every process in the daemon's process group."""

from __future__ import annotations

import os
import threading
from pathlib import Path


class MemorySampler(threading.Thread):
    """Peak RSS (VmHWM) by role of every process in the daemon's process group, sampled every
    0.2 s: daemon, code server, run workers (children of the code server), step workers."""

    def __init__(self, pgid: int) -> None:
        super().__init__(daemon=True)
        self.pgid, self.peaks, self._halt = pgid, {}, threading.Event()

    def run(self) -> None:
        while not self._halt.wait(0.2):
            self.sample()

    def stop(self) -> dict[str, float]:
        self._halt.set()
        self.join()
        return self.peaks

    def sample(self) -> None:
        found = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if os.getpgid(int(entry.name)) != self.pgid:
                    continue
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                fields = dict(
                    line.split(":", 1) for line in (entry / "status").read_text().splitlines()
                )
                found[int(entry.name)] = (
                    command,
                    int(fields["PPid"]),
                    int(fields["VmHWM"].split()[0]) / 1024,
                )
            except (OSError, ProcessLookupError, KeyError, ValueError):
                continue
        servers = {pid for pid, (command, _, _) in found.items() if "api grpc" in command}
        for pid, (command, parent, peak) in found.items():
            role = (
                "daemon"
                if "dagster-daemon" in command
                else "code server"
                if pid in servers
                else "run worker"
                if parent in servers
                else "step worker / forkserver"
            )
            self.peaks[role] = round(max(self.peaks.get(role, 0.0), peak), 1)
