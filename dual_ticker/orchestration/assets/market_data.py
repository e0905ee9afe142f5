"""The session-partitioned market-data assets and their blocking checks: thin wiring over
dual_ticker.pipeline.steps. Each asset reads its input from the table that owns it."""

import warnings
from functools import partial

import dagster as dg

from dual_ticker.clock import Clock
from dual_ticker.orchestration.check_results import check_results, table_metadata
from dual_ticker.orchestration.chunk_materializations import ChunkMaterializations
from dual_ticker.orchestration.partitions import SESSIONS
from dual_ticker.orchestration.resources import DatabaseResource, FeedResource
from dual_ticker.orchestration.run_sessions import RunSessions
from dual_ticker.pipeline import fallback, steps
from dual_ticker.pipeline.chunks import in_chunks, in_chunks_ahead, written_behind
from dual_ticker.quality.gate import FEATURES_CHECKS, RAW_BARS_CHECKS
from dual_ticker.settings import Settings
from dual_ticker.storage import coarse_bars, contract_bars, feed_health
from dual_ticker.storage import raw_bars as raw_table

OWNERS = ["team:market-data"]


def session_asset(**kwargs):
    """@dg.asset over NYSE sessions, run as one run per backfill in session order (indicators
    carry state forward). Dagster flags `backfill_policy` as beta on every definition: that
    warning is silenced here, where the parameter is used, and nowhere else."""

    def decorate(fn):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", dg.BetaWarning)
            return dg.asset(
                partitions_def=SESSIONS,
                backfill_policy=dg.BackfillPolicy.single_run(),
                group_name="market_data",
                owners=OWNERS,
                **kwargs,
            )(fn)

    return decorate


@session_asset(
    kinds={"postgres", "pandas"},
    metadata=table_metadata(raw_table.TABLE, raw_table.SCHEMA),
    check_specs=[
        dg.AssetCheckSpec(name, asset="raw_bars", blocking=True, description=text)
        for name, text in RAW_BARS_CHECKS.items()
    ],
)
def raw_bars(
    context: dg.AssetExecutionContext,
    database: DatabaseResource,
    feeds: FeedResource,
    run_sessions: dg.ResourceParam[RunSessions],
    settings: dg.ResourceParam[Settings],
    clock: dg.ResourceParam[Clock],
):
    """One-minute NVDA and MSFT bars of the session as delivered, landed in `raw_bars` and gated."""
    with database.transaction() as connection:
        active = feed_health.active_feed(connection, feeds.primary)
    clients = feeds.clients(settings, clock, first=active)
    report, landed, first_bar, last_bar = None, 0, None, None
    by_source: dict[str, int] = {}
    served_by: dict[str, str] = {}  # sessions whose first delivery failed the gate
    verdicts_by_source: dict[str, dict[str, str]] = {}
    recorded = _recorded(context, run_sessions, settings)

    def fetch(chunk):
        return steps.fetch_missing(
            database.transaction,
            chunk,
            settings.data.symbols,
            clients,
            context.run_id,
            context.log.info,
        )

    def fetch_and_land(chunk):
        return fallback.land_with_fallback(  # each chunk commits; held sessions apart
            database.transaction,
            fetch(chunk),
            chunk,
            settings,
            feeds.source_order(),
            clients,
            context.run_id,
            clock.now(),
            run_sessions.live,
            context.log.info,
        )

    # Two chunks at once: one is fetched and judged while the other's rows go to the server.
    chunks = _chunks(context, run_sessions, settings, "raw_bars", fetch_and_land, ahead=2)
    for chunk, landing in chunks:
        clean = landing.clean
        served_by |= landing.served_by
        verdicts_by_source |= landing.verdicts_by_source
        report = landing.report if report is None else report.merged_with(landing.report)
        landed += len(clean)
        for (symbol, source), count in clean.groupby(["symbol", "data_source"]).size().items():
            by_source[f"{symbol}/{source}"] = by_source.get(f"{symbol}/{source}", 0) + int(count)
        if len(clean):
            first_bar = first_bar or clean["timestamp"].min()
            last_bar = clean["timestamp"].max()
        recorded.committed(chunk, landed_in_chunk=len(clean))
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": landed,
            "sessions": len(run_sessions.windows),
            "as_of": str(run_sessions.as_of),
            "landed_by_symbol_source": dg.MetadataValue.json(by_source),
            "served_by_fallback": dg.MetadataValue.json(served_by),
            "gate_verdicts_by_source": dg.MetadataValue.json(verdicts_by_source),
            "first_bar": str(first_bar) if first_bar is not None else "none",
            "last_bar": str(last_bar) if last_bar is not None else "none",
        },
        check_results=check_results(report),
    )


@session_asset(deps=[raw_bars], kinds={"postgres"})
def validated_bars(
    context: dg.AssetExecutionContext,
    database: DatabaseResource,
    run_sessions: dg.ResourceParam[RunSessions],
    settings: dg.ResourceParam[Settings],
) -> dg.MaterializeResult:
    """The session's gated bars: a query of the `raw_bars` rows the gate passed, never a copy."""
    with database.transaction() as connection:
        try:
            steps.require_passed(connection, run_sessions.windows, settings.data.symbols)
        except steps.GateNotPassed as refused:
            raise dg.Failure(str(refused)) from None
        counts = raw_table.regular_counts(connection, run_sessions.windows, settings.data.symbols)
    # One query: the run's sessions are one chunk.
    recorded = ChunkMaterializations(
        context, run_sessions.windows, max(1, len(run_sessions.windows))
    )
    recorded.committed(run_sessions.windows)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": sum(counts.values()),
            "regular_minutes_by_symbol": dg.MetadataValue.json(counts),
            "bar_minutes": settings.data.bar_size,
        }
    )


@session_asset(
    deps=[validated_bars],
    kinds={"postgres", "pandas"},
    check_specs=[
        dg.AssetCheckSpec(name, asset="features", blocking=True, description=text)
        for name, text in FEATURES_CHECKS.items()
    ],
)
def features(
    context: dg.AssetExecutionContext,
    database: DatabaseResource,
    feeds: FeedResource,
    run_sessions: dg.ResourceParam[RunSessions],
    settings: dg.ResourceParam[Settings],
) -> dg.MaterializeResult:
    """Validated bars with RSI, EMAs, session VWAP and time of day, staged for dual_ticker_bars."""
    report, history, rows = None, None, 0
    recorded = _recorded(context, run_sessions, settings)

    def read(chunk):
        with database.transaction() as connection:
            return steps.validated(connection, chunk, settings, feeds.source_order())

    def keep(chunk, featured, chunk_report):
        with database.transaction() as connection:  # each chunk stages and commits
            steps.keep_features(connection, featured, chunk_report, chunk, context.run_id)

    # The next chunk's validated bars are read, and this one's features staged, in the background
    # while the features of this one (then the next) are computed.
    with written_behind() as submit:
        chunks = _chunks(context, run_sessions, settings, "features", read)
        for chunk, bars in _refused_as_failure(chunks, steps.GateNotPassed):
            if history is None:
                with database.transaction() as connection:
                    history = steps.warmup_history(connection, settings, bars)
            featured, chunk_report, history = steps.featured_and_gated(
                chunk, settings, history, bars
            )
            figures = {"featured_in_chunk": len(featured), "staged": not chunk_report.blocked}
            submit(
                keep,
                chunk,
                featured,
                chunk_report,
                then=partial(recorded.committed, chunk, **figures),
            )
            report = chunk_report if report is None else report.merged_with(chunk_report)
            rows += len(featured)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "staged": not report.blocked,
            "warmup_bars_per_symbol": settings.data.warmup_bars,
        },
        check_results=check_results(report),
    )


@session_asset(
    deps=[features],
    kinds={"postgres", "timescaledb"},
    metadata=table_metadata(contract_bars.TABLE, contract_bars.SCHEMA),
)
def dual_ticker_bars(
    context: dg.AssetExecutionContext,
    database: DatabaseResource,
    run_sessions: dg.ResourceParam[RunSessions],
    settings: dg.ResourceParam[Settings],
) -> dg.MaterializeResult:
    """The contract table the trading model reads: one row per symbol and bar, 13 features each."""
    counts = {"upserted": 0, "deleted": 0}
    recorded = _recorded(context, run_sessions, settings)

    def publish(chunk):
        with database.transaction() as connection:  # each chunk's sessions: all or nothing
            return steps.publish(connection, chunk, settings.data.symbols, settings.data.bar_size)

    # The work is the server's: two chunks are published at once, on two connections.
    chunks = _chunks(context, run_sessions, settings, "dual_ticker_bars", publish, ahead=2)
    for chunk, published in _refused_as_failure(
        chunks, (contract_bars.NotStaged, steps.RowsVanished)
    ):
        counts = {key: counts[key] + published[key] for key in counts}
        coarse_bars.refresh(database.connection_url(), chunk)  # what this chunk wrote
        recorded.committed(chunk, **{f"{key}_in_chunk": value for key, value in published.items()})
    with database.transaction() as connection:
        stored = contract_bars.count_in(connection, run_sessions.windows)
    return dg.MaterializeResult(metadata={"dagster/row_count": stored, **counts})


def _recorded(context, run_sessions: RunSessions, settings: Settings) -> ChunkMaterializations:
    return ChunkMaterializations(
        context, run_sessions.windows, settings.data.backfill_chunk_sessions
    )


def _chunks(
    context, run_sessions: RunSessions, settings: Settings, step: str, prepare=None, ahead=1
):
    """The run's sessions a chunk at a time (with `prepare`: each with what it made, the next
    `ahead` chunks' made in the background); a run of several chunks logs its progress."""
    windows = run_sessions.windows
    size = settings.data.backfill_chunk_sessions
    report = (lambda progress: context.log.info(progress.line())) if len(windows) > size else None
    if prepare is None:
        return in_chunks(windows, size, step, report or (lambda progress: None))
    return in_chunks_ahead(windows, size, step, prepare, report or (lambda progress: None), ahead)


def _refused_as_failure(chunks, refusal: type[Exception]):
    """The chunks, with a refusal raised for one of them (in its turn) as the run's failure."""
    try:
        yield from chunks
    except refusal as refused:
        raise dg.Failure(str(refused)) from None
