"""The session-partitioned market-data assets and their blocking checks (thin wiring over
dual_ticker.pipeline.steps)."""

import dagster as dg
import pandas as pd

from dual_ticker.calendar.as_of import AS_OF_TAG, session_as_of
from dual_ticker.calendar.nyse import session_label
from dual_ticker.clock import Clock
from dual_ticker.features.indicators import compute_features
from dual_ticker.orchestration.partitions import SESSIONS
from dual_ticker.orchestration.resources import DatabaseResource, FeedResource
from dual_ticker.pipeline import steps
from dual_ticker.quality.gate import (
    FEATURES_CHECKS,
    RAW_BARS_CHECKS,
    features_outcomes,
    session_window,
)
from dual_ticker.quality.rules import Outcome, Window
from dual_ticker.settings import Settings
from dual_ticker.storage import bars as bar_store
from dual_ticker.storage import feed_health
from dual_ticker.storage.quality_log import record_failures

SINGLE_RUN = dg.BackfillPolicy.single_run()  # sessions in order: indicators carry state forward


def run_windows(context, settings: Settings, clock: Clock) -> dict[str, Window]:
    """The run's sessions in order, each with its as_of (the tick for live runs, else the close)."""
    windows = {}
    for key in sorted(context.partition_keys):
        session = session_label(key)
        as_of = session_as_of(
            session,
            clock.now(),
            context.run.tags.get(AS_OF_TAG),
            settings.data.bar_size,
            settings.data.max_bars_per_test,
        )
        windows[key] = session_window(session, as_of)
    return windows


def _check_result(outcome: Outcome) -> dg.AssetCheckResult:
    metadata = {
        key: dg.MetadataValue.json(value) if isinstance(value, (dict, list)) else value
        for key, value in outcome.metadata.items()
        if value is not None
    }
    return dg.AssetCheckResult(
        check_name=outcome.check_name,
        passed=outcome.passed,
        severity=dg.AssetCheckSeverity(outcome.severity),
        description=outcome.description,
        metadata={"reason": outcome.reason, **metadata},
    )


def _merge(per_session: dict[str, list[Outcome]]) -> list[Outcome]:
    """One outcome per check over the run's sessions: the worst session speaks for the check."""

    def rank(outcome):
        return 2 if outcome.blocks else 1 if not outcome.passed else 0

    merged: dict[str, tuple[str, Outcome]] = {}
    for key, outcomes in per_session.items():
        for outcome in outcomes:
            if outcome.check_name not in merged or rank(outcome) > rank(
                merged[outcome.check_name][1]
            ):
                merged[outcome.check_name] = (key, outcome)
    failing = {
        name: sorted(
            k
            for k, outs in per_session.items()
            for o in outs
            if o.check_name == name and not o.passed
        )
        for name in merged
    }
    result = []
    for name, (key, outcome) in merged.items():
        prefix = f"{key}: " if len(per_session) > 1 and not outcome.passed else ""
        extra = {"session": key, "sessions_checked": len(per_session)}
        if len(per_session) > 1:
            extra["failing_sessions"] = failing[name][:20]
        result.append(
            Outcome(
                name,
                outcome.reason,
                outcome.passed,
                outcome.severity,
                prefix + outcome.description,
                {**outcome.metadata, **extra},
            )
        )
    return result


@dg.asset(
    partitions_def=SESSIONS,
    backfill_policy=SINGLE_RUN,
    group_name="market_data",
    check_specs=[
        dg.AssetCheckSpec(name, asset="raw_bars", blocking=True, description=text)
        for name, text in RAW_BARS_CHECKS.items()
    ],
)
def raw_bars(
    context: dg.AssetExecutionContext,
    database: DatabaseResource,
    feeds: FeedResource,
    settings: dg.ResourceParam[Settings],
    clock: dg.ResourceParam[Clock],
):
    """One-minute NVDA and MSFT bars of the session as delivered, landed in `raw_bars` and gated."""
    windows = run_windows(context, settings, clock)
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
    live = AS_OF_TAG in context.run.tags and all(w.as_of < w.closed for w in windows.values())
    with database.transaction() as connection:
        clean, per_session = steps.land_and_gate(
            connection,
            delivery,
            windows,
            settings,
            feeds.source_order(),
            context.run_id,
            clock.now(),
            live,
        )
    landed = clean.groupby(["symbol", "data_source"]).size()
    return dg.MaterializeResult(
        metadata={
            "sessions": len(windows),
            "as_of": str(max(w.as_of for w in windows.values())),
            "rows_landed": int(len(clean)),
            "landed_by_symbol_source": dg.MetadataValue.json(
                {f"{s}/{src}": int(n) for (s, src), n in landed.items()}
            ),
            "first_bar": str(clean["timestamp"].min()) if len(clean) else "none",
            "last_bar": str(clean["timestamp"].max()) if len(clean) else "none",
        },
        check_results=[_check_result(o) for o in _merge(per_session)],
    )


@dg.asset(
    partitions_def=SESSIONS,
    backfill_policy=SINGLE_RUN,
    group_name="market_data",
    deps=[raw_bars],
    io_manager_key="session_frames",
)
def validated_bars(
    context: dg.AssetExecutionContext,
    database: DatabaseResource,
    feeds: FeedResource,
    settings: dg.ResourceParam[Settings],
    clock: dg.ResourceParam[Clock],
) -> pd.DataFrame:
    """The session's gated bars, preferred source per minute, regular hours, at the configured bar size."""
    windows = run_windows(context, settings, clock)
    with database.transaction() as connection:
        try:
            result = steps.validated(connection, windows, settings, feeds.source_order())
        except steps.GateNotPassed as refused:
            raise dg.Failure(str(refused)) from None
    context.add_output_metadata(
        {
            "rows": len(result),
            "bar_minutes": settings.data.bar_size,
            "by_symbol": dg.MetadataValue.json(
                result.groupby("symbol").size().astype(int).to_dict()
            ),
            "sources": ", ".join(sorted(result["data_source"].unique())) if len(result) else "none",
        }
    )
    return result


@dg.asset(
    partitions_def=SESSIONS,
    backfill_policy=SINGLE_RUN,
    group_name="market_data",
    io_manager_key="session_frames",
    output_required=False,
    check_specs=[
        dg.AssetCheckSpec(name, asset="features", blocking=True, description=text)
        for name, text in FEATURES_CHECKS.items()
    ],
)
def features(
    context: dg.AssetExecutionContext,
    validated_bars: pd.DataFrame,
    database: DatabaseResource,
    settings: dg.ResourceParam[Settings],
):
    """Validated bars with RSI, EMAs, session VWAP and time of day, warmed up on stored history."""
    history = validated_bars.iloc[0:0]
    if not validated_bars.empty:
        with database.transaction() as connection:
            history = bar_store.history_before(
                connection,
                settings.data.symbols,
                validated_bars["timestamp"].min(),
                settings.data.warmup_bars,
            )
    featured = compute_features(history, validated_bars)
    outcomes = features_outcomes(featured, settings)
    if not any(o.blocks for o in outcomes):
        yield dg.Output(
            featured,
            metadata={"rows": len(featured), "warmup_bars_per_symbol": settings.data.warmup_bars},
        )
    else:  # nothing is stored for a blocked batch: no later step can read it
        with database.transaction() as connection:
            for session in sorted(featured["session"].unique()):
                record_failures(
                    connection,
                    [o for o in outcomes if not o.passed],
                    context.run_id,
                    session,
                    "features",
                )
    for outcome in outcomes:
        yield _check_result(outcome)


@dg.asset(partitions_def=SESSIONS, backfill_policy=SINGLE_RUN, group_name="market_data")
def dual_ticker_bars(
    context: dg.AssetExecutionContext,
    features: pd.DataFrame,
    database: DatabaseResource,
    settings: dg.ResourceParam[Settings],
    clock: dg.ResourceParam[Clock],
) -> dg.MaterializeResult:
    """The contract table the trading model reads: one row per symbol and bar, 13 features each."""
    windows = run_windows(context, settings, clock)
    with database.transaction() as connection:  # every session of the run, all or nothing
        counts = steps.write_contract(connection, features, windows, settings.data.symbols)
        stored = bar_store.window_count(
            connection,
            min(w.opened for w in windows.values()),
            max(w.closed for w in windows.values()),
        )
    return dg.MaterializeResult(
        metadata={
            "rows_in_sessions": stored,
            "rows_written": len(features),
            **counts,
            "first_bar": str(features["timestamp"].min()) if len(features) else "none",
            "last_bar": str(features["timestamp"].max()) if len(features) else "none",
            "sources": ", ".join(sorted(features["data_source"].unique()))
            if len(features)
            else "none",
        }
    )
