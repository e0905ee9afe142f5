"""Which runs record their sessions chunk by chunk: a range of more than one session, of the
session assets only (the minute job and single sessions keep Dagster's own step-end events)."""

import dagster as dg
from dagster._core.storage.dagster_run import DagsterRun

from dual_ticker.definitions import defs
from dual_ticker.orchestration.chunk_materializations import BY_CHUNK_ASSETS, records_by_chunk
from dual_ticker.orchestration.partitions import SESSIONS

MARKET = ["raw_bars", "validated_bars", "features", "dual_ticker_bars"]


def _run(first=None, last=None, assets=MARKET) -> DagsterRun:
    tags = {}
    if first:
        tags = {
            "dagster/asset_partition_range_start": first,
            "dagster/asset_partition_range_end": last,
        }
    selection = frozenset(dg.AssetKey(name) for name in assets) if assets else None
    return DagsterRun(job_name="__ASSET_JOB", tags=tags, asset_selection=selection)


def test_every_session_asset_records_its_own_chunks():
    graph = defs.resolve_asset_graph()
    partitioned = {
        key.to_user_string()
        for key in graph.get_all_asset_keys()
        if graph.get(key).partitions_def == SESSIONS
    }
    assert partitioned == BY_CHUNK_ASSETS


def test_only_a_range_of_session_assets_records_by_chunk():
    assert records_by_chunk(_run("2019-01-02", "2019-12-31"))
    assert records_by_chunk(_run("2019-01-02", "2019-01-03", ["features", "dual_ticker_bars"]))
    assert not records_by_chunk(_run("2019-01-02", "2019-01-02"))  # one session
    assert not records_by_chunk(_run())  # a single partition or the minute job
    assert not records_by_chunk(_run("2019-01-02", "2019-12-31", [*MARKET, "positions"]))
    assert not records_by_chunk(_run("2019-01-02", "2019-12-31", None))  # the whole job
