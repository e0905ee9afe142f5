"""The code location inside a warm run worker: imported and warmed once, imported again when the
project's source or config changes on disk, so a run never executes code older than its deploy."""

from __future__ import annotations

import sys
from pathlib import Path

from dagster._core.definitions.reconstruct import ReconstructableJob

import dual_ticker
from dual_ticker.settings import CONFIG_DIR

PACKAGE_DIR = Path(dual_ticker.__file__).resolve().parent
MINUTE_JOB = "minute_job"

_loaded: tuple[int, int] | None = None
rehearsed_rows = 0  # rows the last warm-up's rehearsal featured (0: none yet)


def source_fingerprint() -> tuple[int, int]:
    """(number of files, sum of their modification times) of the package and its config."""
    files = [*PACKAGE_DIR.rglob("*.py"), *CONFIG_DIR.glob("*.yaml")]
    return len(files), sum(path.stat().st_mtime_ns for path in files)


def warm() -> None:
    """Imports the definitions and builds what every run needs: repository, job, calendar; then
    rehearses a minute run's data path in memory (the untimed warm-up run, writing nothing)."""
    global _loaded, rehearsed_rows
    _loaded = source_fingerprint()  # before importing: an edit during the import shows next time
    from dual_ticker.definitions import defs
    from dual_ticker.orchestration.partitions import SESSIONS
    from dual_ticker.pipeline.rehearsal import rehearse
    from dual_ticker.settings import load_settings

    repository = defs.get_repository_def()
    job = repository.get_job(MINUTE_JOB)
    job.get_job_snapshot()
    SESSIONS.get_last_partition_key()
    settings = load_settings()
    order = [name for name in (settings.feeds.primary, settings.feeds.fallback) if name]
    rehearsed_rows = rehearse(settings, order)


def reload_if_changed() -> bool:
    """Drops the project's modules and Dagster's cached job definitions if the source changed
    since `warm`, and warms again; returns whether it reloaded."""
    if _loaded is None:
        warm()
        return False
    if source_fingerprint() == _loaded:
        return False
    for name in [n for n in sys.modules if n == "dual_ticker" or n.startswith("dual_ticker.")]:
        del sys.modules[name]
    ReconstructableJob.get_definition.cache_clear()
    ReconstructableJob.get_repository_definition.cache_clear()
    warm()
    return True
