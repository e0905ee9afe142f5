"""The session-partitioned market-data assets and their blocking checks."""


import time

import dagster as dg
import pandas as pd

from dual_ticker.bar_series import aggregate
from dual_ticker.clock import Clock
from dual_ticker.feeds.base import BAR_COLUMNS, FeedEmpty, FeedError, empty_bars
from dual_ticker.features.indicators import compute_features
from dual_ticker.market_calendar import NEW_YORK, session_close, session_label, session_open
from dual_ticker.partitions import SESSIONS
from dual_ticker.quality.gate import FEATURES_CHECKS, RAW_BARS_CHECKS, features_outcomes, gated_bars, raw_bars_outcomes
from dual_ticker.quality.rules import delivery_conflicts
from dual_ticker.resources import DatabaseResource, FeedResource
from dual_ticker.run_time import AS_OF_TAG, session_as_of
from dual_ticker.settings import Settings
from dual_ticker.storage import bars as bar_store
from dual_ticker.storage import feed_health
from dual_ticker.storage.quality_log import record_failures

SINGLE_RUN = dg.BackfillPolicy.single_run()  # sessions in order: indicators carry state forward


def _sessions(context) -> list[pd.Timestamp]:
    return [session_label(key) for key in sorted(context.partition_keys)]


def _as_of(context, session, settings: Settings, clock: Clock) -> pd.Timestamp:
    return session_as_of(session, clock.now(), context.run.tags.get(AS_OF_TAG), settings.data.bar_size,
                         settings.data.max_bars_per_test)


def _check_result(outcome) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=outcome.check_name,
        passed=outcome.passed,
        severity=dg.AssetCheckSeverity(outcome.severity),
        description=outcome.description,
        metadata={"reason": outcome.reason, **{k: dg.MetadataValue.json(v) if isinstance(v, (dict, list)) else v
                                              for k, v in outcome.metadata.items() if v is not None}},
    )


def _merge(per_session: dict[str, list]) -> list:
    """One outcome per check over all sessions of the run: the first failure (worst first) wins."""
    merged = {}
    for session, outcomes in per_session.items():
        for outcome in outcomes:
            current = merged.get(outcome.check_name)
            if current is None or (current.passed and not outcome.passed) or (not outcome.passed and outcome.blocks and not current.blocks):
                merged[outcome.check_name] = type(outcome)(
                    outcome.check_name, outcome.reason, outcome.passed, outcome.severity,
                    outcome.description if len(per_session) == 1 or outcome.passed else f"{session}: {outcome.description}",
                    {**outcome.metadata, "session": session},
                )
    return list(merged.values())


def _fetch_session(context, session, as_of, database: DatabaseResource, feeds: FeedResource, symbols) -> pd.DataFrame:
    """Fetches what each symbol lacks for the session up to as_of, failing over feed by feed."""
    day_start = session.tz_localize(NEW_YORK).tz_convert("UTC")
    with database.transaction() as connection:
        stored = bar_store.session_raw_rows(connection, session, symbols)
        active = feed_health.active_feed(connection, feeds.primary)
    deliveries = []
    for symbol in symbols:
        own = stored[stored["symbol"] == symbol]
        start = own["timestamp"].max() + pd.Timedelta(minutes=1) if not own.empty else day_start
        if start + pd.Timedelta(minutes=1) > as_of:
            continue
        deliveries.append(_fetch_with_failover(context, database, feeds.clients(active), symbol, start, as_of))
    return pd.concat(deliveries, ignore_index=True) if deliveries else empty_bars()


def _fetch_with_failover(context, database, clients, symbol, start, as_of) -> pd.DataFrame:
    failures, all_empty = [], True
    for client in clients:
        began = time.perf_counter()
        try:
            bars = client.fetch_intraday(symbol, start, as_of, as_of)
        except FeedError as error:
            outcome, count, detail = error.reason, 0, str(error)
            failures.append(detail)
            all_empty = all_empty and isinstance(error, FeedEmpty)
        else:
            outcome, count, detail = "ok", len(bars), None
        with database.transaction() as connection:
            feed_health.record_request(connection, client.name, symbol, outcome, time.perf_counter() - began,
                                       count, detail, context.run_id)
        if outcome == "ok":
            return bars
        context.log.warning(f"feed {client.name} failed for {symbol}: {detail}")
    if all_empty:  # nothing traded yet in the window: absent minutes are never fabricated
        return empty_bars()
    raise dg.Failure(f"every feed failed for {symbol} from {start}: {' | '.join(failures)}")


@dg.asset(
    partitions_def=SESSIONS,
    backfill_policy=SINGLE_RUN,
    group_name="market_data",
    check_specs=[dg.AssetCheckSpec(name, asset="raw_bars", blocking=True, description=text)
                 for name, text in RAW_BARS_CHECKS.items()],
)
def raw_bars(context: dg.AssetExecutionContext, database: DatabaseResource, feeds: FeedResource,
             settings: dg.ResourceParam[Settings], clock: dg.ResourceParam[Clock]):
    """One-minute NVDA and MSFT bars of the session as delivered, landed in `raw_bars` and gated."""
    symbols = list(settings.data.symbols)
    per_session, landed, ranges = {}, {}, []
    for session in _sessions(context):
        as_of = _as_of(context, session, settings, clock)
        delivery = _fetch_session(context, session, as_of, database, feeds, symbols)
        clean, clashes = delivery_conflicts(delivery)
        with database.transaction() as connection:
            bar_store.land_raw_bars(connection, clean, session, context.run_id, clock.now(), clashes)
            feed_health.record_ingested(connection, clean.groupby(["symbol", "data_source"]).size().to_dict())
        with database.transaction() as connection:
            rows = bar_store.session_raw_rows(connection, session, symbols)
            live = AS_OF_TAG in context.run.tags and as_of < session_close(session)
            outcomes = raw_bars_outcomes(rows, clashes, session, as_of, settings, feeds.source_order(), live)
            blocking = [o for o in outcomes if o.blocks]
            reason = "; ".join(f"{o.reason}: {o.description}" for o in blocking) or None
            bar_store.mark_gate(connection, session, symbols, not blocking, context.run_id, reason)
            record_failures(connection, [o for o in outcomes if not o.passed], context.run_id, session.date(), "raw_bars")
        key = str(session.date())
        per_session[key] = outcomes
        landed[key] = {f"{s}/{src}": int(n) for (s, src), n in clean.groupby(["symbol", "data_source"]).size().items()}
        if not rows.empty:
            ranges += [rows["timestamp"].min(), rows["timestamp"].max()]
    return dg.MaterializeResult(
        metadata={
            "sessions": len(per_session),
            "rows_landed": sum(sum(v.values()) for v in landed.values()),
            "landed_by_symbol_source": dg.MetadataValue.json(landed if len(landed) <= 5 else {"sessions": len(landed)}),
            "first_bar": str(min(ranges)) if ranges else "none",
            "last_bar": str(max(ranges)) if ranges else "none",
        },
        check_results=[_check_result(o) for o in _merge(per_session)],
    )


@dg.asset(partitions_def=SESSIONS, backfill_policy=SINGLE_RUN, group_name="market_data", deps=[raw_bars],
          io_manager_key="session_frames")
def validated_bars(context: dg.AssetExecutionContext, database: DatabaseResource, feeds: FeedResource,
                   settings: dg.ResourceParam[Settings], clock: dg.ResourceParam[Clock]) -> pd.DataFrame:
    """The session's gated bars, preferred source per minute, regular hours, at the configured bar size."""
    frames = []
    for session in _sessions(context):
        as_of = _as_of(context, session, settings, clock)
        with database.transaction() as connection:
            rows = bar_store.session_raw_rows(connection, session, settings.data.symbols)
        regular = gated_bars(rows, session, as_of, feeds.source_order())
        unpassed = regular[regular["gate_status"] != "passed"]
        if not unpassed.empty:
            why = unpassed["gate_reason"].dropna().iloc[0] if unpassed["gate_reason"].notna().any() else "not gated yet"
            raise dg.Failure(f"session {session.date()} has not passed the quality gate ({why}); "
                             "fix the data and materialize raw_bars for it again")
        regular[["open", "high", "low", "close"]] = regular[["open", "high", "low", "close"]].round(4)
        bars = aggregate(regular[BAR_COLUMNS], settings.data.bar_size, as_of)
        frames.append(bars.assign(session=str(session.date())))
    result = pd.concat(frames, ignore_index=True)
    context.add_output_metadata({
        "rows": len(result), "bar_minutes": settings.data.bar_size,
        "by_symbol": dg.MetadataValue.json(result.groupby("symbol").size().astype(int).to_dict()),
        "sources": ", ".join(sorted(result["data_source"].unique())) if len(result) else "none",
    })
    return result


@dg.asset(partitions_def=SESSIONS, backfill_policy=SINGLE_RUN, group_name="market_data",
          io_manager_key="session_frames", output_required=False,
          check_specs=[dg.AssetCheckSpec(name, asset="features", blocking=True, description=text)
                       for name, text in FEATURES_CHECKS.items()])
def features(context: dg.AssetExecutionContext, validated_bars: pd.DataFrame, database: DatabaseResource,
             settings: dg.ResourceParam[Settings]):
    """Validated bars with RSI, EMAs, session VWAP and time of day, warmed up on stored history."""
    if validated_bars.empty:
        featured = validated_bars.assign(**{c: pd.Series(dtype="float64") for c in
                                            ("rsi", "ema_short", "ema_long", "vwap", "hour_sin", "hour_cos",
                                             "minute_sin", "minute_cos", "bars_before")})
    else:
        with database.transaction() as connection:
            history = bar_store.history_before(connection, settings.data.symbols, validated_bars["timestamp"].min(),
                                               settings.data.warmup_bars)
        featured = compute_features(history, validated_bars)
    outcomes = features_outcomes(featured, settings)
    if not any(o.blocks for o in outcomes):
        yield dg.Output(featured, metadata={"rows": len(featured), "warmup_bars_per_symbol": settings.data.warmup_bars})
    else:
        with database.transaction() as connection:
            for session in sorted(featured["session"].unique()):
                record_failures(connection, [o for o in outcomes if not o.passed], context.run_id, session, "features")
    for outcome in outcomes:
        yield _check_result(outcome)


@dg.asset(partitions_def=SESSIONS, backfill_policy=SINGLE_RUN, group_name="market_data")
def dual_ticker_bars(context: dg.AssetExecutionContext, features: pd.DataFrame, database: DatabaseResource,
                     settings: dg.ResourceParam[Settings]) -> dg.MaterializeResult:
    """The contract table the trading model reads: one row per symbol and bar, 13 features each."""
    symbols = list(settings.data.symbols)
    sessions = _sessions(context)
    counts = {"upserted": 0, "deleted": 0}
    with database.transaction() as connection:  # every session of the run, all or nothing
        for session in sessions:
            rows = features[features["session"] == str(session.date())]
            result = bar_store.replace_window(connection, rows, symbols, session_open(session), session_close(session))
            counts = {k: counts[k] + result[k] for k in counts}
        stored = sum(bar_store.window_count(connection, session_open(s), session_close(s)) for s in sessions)
    return dg.MaterializeResult(metadata={
        "rows_in_sessions": stored, "rows_written": len(features), **counts,
        "first_bar": str(features["timestamp"].min()) if len(features) else "none",
        "last_bar": str(features["timestamp"].max()) if len(features) else "none",
        "sources": ", ".join(sorted(features["data_source"].unique())) if len(features) else "none",
    })
