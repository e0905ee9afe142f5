"""A range run's partitions turn green in the UI as their chunk commits, not all at the end.

Dagster records a step's materializations, one per partition, when the step returns, and has no
way to record some partitions earlier (dagster-io/dagster#21072, #17836); events logged from the
body come on top of those, so each partition would be recorded twice. So a run over more than one
session runs on `by_chunk_executor`: its steps see the run with Dagster's own
`dagster/defer_asset_events` tag, which stops the step-end events, and each session asset records
its chunk's partitions itself (`ChunkMaterializations`), the same events Dagster would write, in
one batch when the chunk commits. A run that fails partway thus leaves the sessions it committed
materialized. The tag is not stored on the run: it is this run's execution only, and the run's
planned events are written at its creation as usual."""

from __future__ import annotations

import copy

import dagster as dg
from dagster._core.definitions.assets.definition.asset_spec import AssetExecutionType
from dagster._core.events import (
    DagsterEvent,
    DagsterEventBatchMetadata,
    EngineEventData,
    generate_event_batch_id,
)
from dagster._core.execution.plan.execute_step import _get_output_asset_events
from dagster._core.executor.in_process import InProcessExecutor
from dagster._core.storage.dagster_run import DagsterRun, assets_are_externally_managed
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    EXTERNALLY_MANAGED_ASSETS_TAG,
)

from dual_ticker.quality.rules import Window

# The assets that record their own partitions in a deferred run (the run must hold no other).
BY_CHUNK_ASSETS = frozenset({"raw_bars", "validated_bars", "features", "dual_ticker_bars"})


def records_by_chunk(run: DagsterRun) -> bool:
    """A run over a range of more than one session, of session assets only."""
    first = run.tags.get(ASSET_PARTITION_RANGE_START_TAG)
    last = run.tags.get(ASSET_PARTITION_RANGE_END_TAG)
    if first is None or last is None or first == last or not run.asset_selection:
        return False
    return {key.to_user_string() for key in run.asset_selection} <= BY_CHUNK_ASSETS


class ByChunkExecutor(InProcessExecutor):
    """The in-process executor; a range run's steps see its step-end asset events deferred."""

    def execute(self, plan_context, execution_plan):
        run = plan_context.dagster_run
        if records_by_chunk(run):
            yield DagsterEvent.engine_event(
                plan_context,
                "A range run: each asset records its sessions as materialized as each chunk "
                "commits, not at the end of its step",
                EngineEventData(),
            )
            deferred = copy.copy(plan_context)
            deferred._plan_data = plan_context.plan_data._replace(  # noqa: SLF001
                dagster_run=run.with_tags({**run.tags, EXTERNALLY_MANAGED_ASSETS_TAG: "true"})
            )
            plan_context = deferred
        yield from super().execute(plan_context, execution_plan)


@dg.executor(name="in_process_by_chunk", config_schema=dg.in_process_executor.config_schema)
def by_chunk_executor(init_context) -> ByChunkExecutor:
    """All steps in the run's process; a range run's sessions recorded as each chunk commits."""
    inner = dg.in_process_executor.executor_creation_fn(init_context)
    return ByChunkExecutor(inner.retries, inner.step_dependency_config, inner.marker_to_close)


class ChunkMaterializations:
    """A session asset's materializations in a run whose step-end ones are deferred: a chunk's
    sessions in one batch once the chunk has committed. In any other run Dagster records them at
    the end of the step, and this records nothing."""

    def __init__(self, context: dg.AssetExecutionContext, windows: dict[str, Window], size: int):
        self._step = context.get_step_execution_context()
        self.active = assets_are_externally_managed(context.run)
        self._asset_key = context.asset_key
        self._output_def = self._step.op_def.output_def_named(
            context.assets_def.get_output_name_for_asset_key(context.asset_key)
        )
        # Each session's chunk, as `in_chunks` cuts the run's sessions.
        self._chunk_of = {key: n // size + 1 for n, key in enumerate(sorted(windows))}
        self._chunks = max(1, -(-len(windows) // size))

    def committed(self, chunk: dict[str, Window], **figures) -> None:
        """Records the chunk's sessions, with the chunk's figures, as materialized."""
        if not self.active:
            return
        sessions = sorted(chunk)
        metadata = {
            "chunk": f"{self._chunk_of[sessions[0]]}/{self._chunks}",
            "chunk_sessions": f"{sessions[0]}...{sessions[-1]}",
            **figures,
        }
        events = list(
            _get_output_asset_events(
                self._asset_key,
                sessions,
                dg.Output(None, metadata=metadata),
                self._output_def,
                {},
                self._step,
                AssetExecutionType.MATERIALIZATION,
            )
        )
        batch = generate_event_batch_id()
        for number, event in enumerate(events, start=1):
            end = DagsterEventBatchMetadata(batch, number == len(events))
            DagsterEvent.asset_materialization(self._step, event, end)  # logged as made
