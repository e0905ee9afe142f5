"""The backfill a person launches in the UI, through the daemon: the UI's `launchPartitionBackfill`
GraphQL mutation (the four market-data assets, the range's sessions) sent in process to a
workspace of `dual_ticker.definitions`, a real `dagster-daemon run` picking it up; timed from the
mutation to the backfill's completion, with when its run was created, started and finished.

    python -m bench.backfill_daemon URL REPLAY_DIR FIRST LAST   (prints one JSON line)"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from bench.daemon_stack import daemon, wait_for_daemon
from dual_ticker.settings import PROJECT_ROOT

ASSETS = ["raw_bars", "validated_bars", "features", "dual_ticker_bars"]
TIMEOUT_SECONDS = 1800


def prepared_home(url: str, replay: str) -> tuple[Path, Path]:
    """A private home: Dagster's (the checkout's dagster.yaml) and a workspace of the project."""
    home = Path(tempfile.mkdtemp(prefix="dt-bench-ui-backfill-"))
    (home / "dagster").mkdir()
    shutil.copyfile(PROJECT_ROOT / "dagster.yaml", home / "dagster" / "dagster.yaml")
    workspace = home / "workspace.yaml"
    workspace.write_text(
        "load_from:\n  - python_module:\n      module_name: dual_ticker.definitions\n"
        f"      working_directory: {PROJECT_ROOT}\n"
    )
    os.environ.update(
        DAGSTER_HOME=str(home / "dagster"),
        DUAL_TICKER_HOME=str(home),
        DUAL_TICKER_DATABASE_URL=url,
        DUAL_TICKER_REPLAY_DIR=replay,
        PYTHONWARNINGS="ignore",
    )
    return home, workspace


def launch(context, keys: list[str]) -> str:
    from dagster_graphql.client.query import LAUNCH_PARTITION_BACKFILL_MUTATION
    from dagster_graphql.test.utils import execute_dagster_graphql

    params = {"assetSelection": [{"path": [name]} for name in ASSETS], "partitionNames": keys}
    result = execute_dagster_graphql(
        context, LAUNCH_PARTITION_BACKFILL_MUTATION, variables={"backfillParams": params}
    )
    launched = result.data["launchPartitionBackfill"]
    if launched["__typename"] != "LaunchBackfillSuccess":
        raise RuntimeError(f"the backfill was not launched: {launched}")
    return launched["backfillId"]


def main(url: str, replay: str, first: str, last: str) -> None:
    import dagster as dg
    from dagster._core.workspace.context import WorkspaceProcessContext
    from dagster._core.workspace.load_target import WorkspaceFileTarget

    from dual_ticker.calendar.windows import session_keys

    home, workspace = prepared_home(url, replay)
    try:
        with ExitStack() as stack:
            instance = stack.enter_context(dg.DagsterInstance.get())
            process = stack.enter_context(daemon(home, workspace))
            wait_for_daemon(instance, process)
            context = stack.enter_context(
                WorkspaceProcessContext(instance, WorkspaceFileTarget(paths=[str(workspace)]))
            )
            launched = time.time()
            backfill_id = launch(context.create_request_context(), session_keys(first, last))
            backfill = _finished(instance, backfill_id)
            ended = time.time()
            print(json.dumps(_timeline(instance, backfill, launched, ended)))
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _finished(instance, backfill_id: str):
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        backfill = instance.get_backfill(backfill_id)
        if backfill.status.value not in ("REQUESTED", "CANCELING"):
            return backfill
        time.sleep(0.2)
    raise RuntimeError(f"backfill {backfill_id} did not finish within {TIMEOUT_SECONDS} s")


def _timeline(instance, backfill, launched: float, ended: float) -> dict:
    """Seconds from the mutation to each milestone of the backfill and of its runs."""
    import dagster as dg

    runs = instance.get_runs(dg.RunsFilter(tags={"dagster/backfill": backfill.backfill_id}))
    milestones = {"backfill finished (seen)": ended}
    for run in runs:
        record = instance.get_run_record_by_id(run.run_id)
        milestones[f"run {run.run_id[:8]} created"] = record.create_timestamp.timestamp()
        if record.start_time:
            milestones[f"run {run.run_id[:8]} RUN_START"] = record.start_time
        if record.end_time:
            milestones[f"run {run.run_id[:8]} finished ({run.status.value})"] = record.end_time
    return {
        "backfill_status": backfill.status.value,
        "runs": len(runs),
        "wall_seconds": round(ended - launched, 2),
        "milestones": {
            name: round(at - launched, 2)
            for name, at in sorted(milestones.items(), key=lambda m: m[1])
        },
    }


if __name__ == "__main__":
    main(*sys.argv[1:5])
