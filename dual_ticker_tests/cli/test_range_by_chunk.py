"""A range backfill through the CLI records its sessions as materialized as each chunk commits
(the partitions turn green in the UI chunk by chunk), each session once per asset; a run that
fails partway leaves the sessions it committed materialized, and a re-run finishes the rest."""

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.storage.partition_status_cache import get_and_update_asset_status_cache_value

from bench.year_data import year_bars
from dual_ticker.calendar.nyse import sessions_between
from dual_ticker.orchestration.partitions import SESSIONS
from dual_ticker.storage.database import dagster_url
from dual_ticker_tests.support.pipeline import write_replay

ROOT = Path(__file__).resolve().parents[2]
DAGSTER = str(Path(sys.executable).parent / "dagster")
FIRST, LAST = "2019-01-02", "2019-03-05"  # 43 sessions: chunks of 21, 21 and 1 (config/dev.yaml)
RANGE = [day.strftime("%Y-%m-%d") for day in sessions_between(FIRST, LAST)]
CHUNKS = [RANGE[:21], RANGE[21:42], RANGE[42:]]
ASSETS = ["raw_bars", "validated_bars", "features", "dual_ticker_bars"]


def _materialize(database_url: str, replay: Path, home: Path, select: list[str]):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "DUAL_TICKER_"))}
    env |= {
        "DUAL_TICKER_HOME": str(home),
        "DUAL_TICKER_DATABASE_URL": database_url,
        "DUAL_TICKER_REPLAY_DIR": str(replay),
    }
    command = [DAGSTER, "asset", "materialize", "-m", "dual_ticker.definitions"]
    command += ["--select", ",".join(select), "--partition-range", f"{FIRST}...{LAST}"]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture
def stored(embedded_database):
    """Dagster's view of the test database, as the UI reads it."""
    storage = {"postgres": {"postgres_url": dagster_url(embedded_database)}}
    with dg.instance_for_test(overrides={"storage": storage}) as instance:
        yield instance


def _status(instance, asset: str) -> tuple[list[str], list[str]]:
    """(materialized, failed) sessions of the asset, as the UI's partition bar shows them."""
    status = get_and_update_asset_status_cache_value(instance, dg.AssetKey(asset), SESSIONS)
    if status is None:
        return [], []
    materialized = status.deserialize_materialized_partition_subsets(SESSIONS)
    failed = status.deserialize_failed_partition_subsets(SESSIONS)
    return sorted(materialized.get_partition_keys()), sorted(failed.get_partition_keys())


def _materializations(entries, asset: str) -> list[tuple[int, str]]:
    return [
        (number, entry.dagster_event.partition)
        for number, entry in enumerate(entries)
        if entry.dagster_event
        and entry.dagster_event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION
        and entry.dagster_event.asset_key == dg.AssetKey(asset)
    ]


def _position(entries, text: str) -> int:
    return next(number for number, entry in enumerate(entries) if entry.user_message == text)


@pytest.mark.slow
def test_a_range_records_each_chunk_of_sessions_as_it_commits(embedded_database, stored, tmp_path):
    replay = write_replay(tmp_path / "replay", year_bars(first=FIRST, last=LAST))
    done = _materialize(embedded_database, replay, tmp_path / "home", ASSETS)
    assert done.returncode == 0, done.stderr[-3000:]

    [run] = stored.get_runs()
    entries = stored.all_logs(run.run_id)
    for asset in ASSETS:
        recorded = _materializations(entries, asset)
        assert sorted(session for _, session in recorded) == RANGE  # each session once
        assert _status(stored, asset) == (RANGE, [])
    for asset in ("raw_bars", "features", "dual_ticker_bars"):
        recorded = dict((session, number) for number, session in _materializations(entries, asset))
        # A chunk's sessions are recorded before the step has finished its next chunk, not at
        # the end of the step.
        for number, chunk in enumerate(CHUNKS[:-1], start=1):
            next_done = next(
                at
                for at, entry in enumerate(entries)
                if entry.user_message.startswith(f"{asset}: chunk {number + 1}/3,")
            )
            assert max(recorded[session] for session in chunk) < next_done
        outputs = min(
            at
            for at, entry in enumerate(entries)
            if entry.dagster_event
            and entry.dagster_event.event_type == dg.DagsterEventType.STEP_OUTPUT
            and entry.step_key == asset
        )
        assert max(recorded[session] for session in CHUNKS[0]) < outputs
    # The last chunk's figures ride on its sessions' materializations.
    last = stored.fetch_materializations(dg.AssetKey("raw_bars"), limit=1).records[0]
    metadata = last.asset_materialization.metadata
    assert metadata["chunk"].value == "3/3" and metadata["landed_in_chunk"].value == 2 * 390


@pytest.mark.slow
def test_a_range_that_fails_partway_shows_its_committed_sessions_materialized(
    embedded_database, stored, tmp_path
):
    frames = year_bars(first=FIRST, last=LAST)
    msft = frames["MSFT"]
    bad = msft["timestamp"] == "2019-02-05 11:00:00"  # in the second chunk
    msft.loc[bad, "high"] = msft.loc[bad, "low"] - 1.0
    replay = write_replay(tmp_path / "replay", frames)
    home = tmp_path / "home"
    landed = _materialize(embedded_database, replay, home, ["raw_bars"])
    assert "DagsterAssetCheckFailedError" in landed.stderr, landed.stderr[-3000:]
    assert _status(stored, "raw_bars") == (RANGE, [])  # landed, with a failed check

    # Features stop at the second chunk (a session whose gate did not pass): the first chunk
    # committed, and only it shows as materialized. (The rest show as missing, not failed: the
    # run plans its sessions in one event per asset, and Dagster reads failed partitions from
    # planned events of one partition each.)
    features = _materialize(embedded_database, replay, home, ["features", "dual_ticker_bars"])
    assert features.returncode == 1
    assert "2019-02-05" in features.stderr
    assert _status(stored, "features") == (CHUNKS[0], [])
    assert _status(stored, "dual_ticker_bars") == ([], [])

    # The provider corrects the session: the range again materializes every session.
    frames["MSFT"] = year_bars(first=FIRST, last=LAST)["MSFT"]
    write_replay(replay, frames)
    again = _materialize(embedded_database, replay, home, ASSETS)
    assert again.returncode == 0, again.stderr[-3000:]
    for asset in ASSETS:
        assert _status(stored, asset) == (RANGE, [])
