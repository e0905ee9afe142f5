"""The session-partitioned market-data assets and their blocking checks: thin wiring over
dual_ticker.pipeline.steps. Each asset reads its input from the table that owns it."""

import warnings

import dagster as dg

from dual_ticker.clock import Clock
from dual_ticker.orchestration.check_results import check_results, table_metadata
from dual_ticker.orchestration.partitions import SESSIONS
from dual_ticker.orchestration.resources import DatabaseResource, FeedResource
from dual_ticker.orchestration.run_sessions import RunSessions
from dual_ticker.pipeline import steps
from dual_ticker.quality.gate import FEATURES_CHECKS, RAW_BARS_CHECKS
from dual_ticker.settings import Settings
from dual_ticker.storage import contract_bars, feed_health
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
    windows = run_sessions.windows
    with database.transaction() as connection:
        active = feed_health.active_feed(connection, feeds.primary)
    delivery = steps.fetch_missing(
        database.transaction,
        windows,
        settings.data.symbols,
        feeds.clients(settings, clock, first=active),
        context.run_id,
        context.log.info,
    )
    with database.transaction() as connection:
        clean, report = steps.land_and_gate(
            connection,
            delivery,
            windows,
            settings,
            feeds.source_order(),
            context.run_id,
            clock.now(),
            run_sessions.live,
        )
    landed = clean.groupby(["symbol", "data_source"]).size()
    return dg.MaterializeResult(
        metadata={
            **table_metadata(raw_table.TABLE, raw_table.SCHEMA, len(clean)),
            "sessions": len(windows),
            "as_of": str(run_sessions.as_of),
            "landed_by_symbol_source": dg.MetadataValue.json(
                {f"{s}/{src}": int(n) for (s, src), n in landed.items()}
            ),
            "first_bar": str(clean["timestamp"].min()) if len(clean) else "none",
            "last_bar": str(clean["timestamp"].max()) if len(clean) else "none",
        },
        check_results=check_results(report),
    )


@session_asset(deps=[raw_bars], kinds={"postgres"})
def validated_bars(
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
    with database.transaction() as connection:
        try:
            featured, report = steps.stage_features(
                connection, run_sessions.windows, settings, feeds.source_order(), context.run_id
            )
        except steps.GateNotPassed as refused:
            raise dg.Failure(str(refused)) from None
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(featured),
            "staged": not report.blocked,
            "warmup_bars_per_symbol": settings.data.warmup_bars,
        },
        check_results=check_results(report),
    )


@session_asset(deps=[features], kinds={"postgres", "timescaledb"})
def dual_ticker_bars(
    database: DatabaseResource,
    run_sessions: dg.ResourceParam[RunSessions],
    settings: dg.ResourceParam[Settings],
) -> dg.MaterializeResult:
    """The contract table the trading model reads: one row per symbol and bar, 13 features each."""
    windows = run_sessions.windows
    with database.transaction() as connection:  # every session of the run, all or nothing
        try:
            counts = steps.publish(connection, windows, settings.data.symbols)
        except contract_bars.NotStaged as missing:
            raise dg.Failure(str(missing)) from None
        stored = contract_bars.count_in(connection, windows)
    return dg.MaterializeResult(
        metadata={
            **table_metadata(contract_bars.TABLE, contract_bars.SCHEMA, stored),
            **counts,
        }
    )
