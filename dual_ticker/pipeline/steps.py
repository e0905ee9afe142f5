"""The steps of the asset graph as plain functions over a run's sessions: fetch what is missing,
land and gate it, build validated bars, compute and stage features, publish the contract. The
assets wrap these; benchmarks call them directly. Every step handles all sessions of a run in a
few statements, and data walks feed -> gate -> features -> contract once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pandas as pd

from dual_ticker.calendar.nyse import NEW_YORK, is_session, new_york_dates
from dual_ticker.features.indicators import compute_features
from dual_ticker.feeds.base import BAR_COLUMNS, FeedEmpty, FeedError, IntradayFeed, empty_bars
from dual_ticker.feeds.failover import fetch_with_failover
from dual_ticker.quality import quarantine
from dual_ticker.quality.bar_series import aggregate
from dual_ticker.quality.gate import GateReport, features_report, gated_bars, raw_bars_report
from dual_ticker.quality.rules import Window, delivery_conflicts
from dual_ticker.settings import Settings
from dual_ticker.storage import contract_bars, feed_health, raw_bars, timescale
from dual_ticker.storage.database import one_at_a_time
from dual_ticker.storage.quality_log import record_failures

MINUTE = pd.Timedelta(minutes=1)
LANDING_LOCK_KEY = 0x6474_6C6E64  # "dtlnd": the landing writes of every run of the project


class GateNotPassed(RuntimeError):
    """Downstream asked for a session whose raw bars have not passed the gate."""


class RowsVanished(RuntimeError):
    """A session's published rows are fewer or more than the bars the gate passed for it."""


def missing_windows(
    stored: pd.DataFrame, windows: dict[str, Window], symbol: str
) -> dict[str, tuple]:
    """Per session, the [start, as_of) the symbol still lacks: from its first missing regular
    minute (a gap is fetched again), else after its latest stored bar; the whole day if none."""
    own = stored[stored["symbol"] == symbol]
    by_session = dict(tuple(own.groupby("session")["timestamp"])) if len(own) else {}
    lacking = {}
    for key, window in windows.items():
        present = by_session.get(key)
        if present is None or present.empty:
            start = pd.Timestamp(key).tz_localize(NEW_YORK).tz_convert("UTC")
        else:
            expected = pd.date_range(
                window.opened, min(window.closed, window.as_of) - MINUTE, freq=MINUTE
            )
            gaps = expected.difference(pd.DatetimeIndex(present))
            start = gaps[0] if len(gaps) else present.max() + MINUTE
        if start + MINUTE <= window.as_of:
            lacking[key] = (start, window.as_of)
    return lacking


def fetch_missing(
    connection_factory,
    windows: dict[str, Window],
    symbols: Sequence[str],
    clients: Sequence[IntradayFeed],
    run_id: str | None,
    warn: Callable[[str], None] = lambda message: None,
    give_up: bool = False,
) -> pd.DataFrame:
    """What each symbol lacks up to each session's as_of, in one request window per symbol, from
    the first feed that delivers; every attempt recorded in feed health. With `give_up`, a symbol
    no feed delivers brings nothing (warned) instead of failing the run."""
    with connection_factory() as connection:
        stored = raw_bars.stored_starts(connection, list(windows), symbols)
    wanted = {symbol: missing_windows(stored, windows, symbol) for symbol in symbols}
    wanted = {symbol: lacking for symbol, lacking in wanted.items() if lacking}
    # The symbols' requests go out at once: a provider's latency is paid once per run, not once
    # per symbol. Health, warnings and errors are then handled here, in symbol order.
    with ThreadPoolExecutor(max_workers=max(1, len(wanted))) as pool:
        fetched = list(pool.map(lambda item: _fetch_symbol(*item, clients), wanted.items()))
    with connection_factory() as connection:  # every attempt recorded, failed runs' too
        for _, attempts, _ in fetched:
            feed_health.record_requests(connection, attempts, run_id)
    deliveries, failure = [], None
    for lacking, (bars, _, problem) in zip(wanted.values(), fetched, strict=True):
        if isinstance(problem, FeedEmpty) or (problem is not None and give_up):
            warn(str(problem))  # nothing traded yet, or given up: no minute is fabricated
        elif problem is not None:
            failure = failure or problem
        deliveries.append(_within(bars, lacking))
    if failure is not None:
        raise failure
    return (
        pd.concat(deliveries, ignore_index=True) if deliveries else empty_bars().assign(session=[])
    )


def _fetch_symbol(
    symbol: str, lacking: dict[str, tuple], clients: Sequence[IntradayFeed]
) -> tuple[pd.DataFrame, list[tuple], FeedError | None]:
    """One symbol's request window from the first feed that delivers: its bars, every attempt
    (feed, symbol, outcome, latency, bars, detail) and the failure when none delivered."""
    start = min(s for s, _ in lacking.values())
    end = max(e for _, e in lacking.values())
    attempts: list[tuple] = []
    try:
        result = fetch_with_failover(
            symbol, start, end, end, clients, lambda *a: attempts.append(a)
        )
    except FeedError as failed:  # FeedEmpty included: the caller tells them apart
        return empty_bars(), attempts, failed
    return result.bars, attempts, None


def _within(bars: pd.DataFrame, lacking: dict[str, tuple]) -> pd.DataFrame:
    """The delivered bars inside each session's lacking window, tagged with the session key. A row
    the request brought that has no session of its own stays for the gate to quarantine: one with
    an unreadable time goes with the first session asked for, one dated on a day that is no
    session (weekend, holiday) with the latest session asked for before it."""
    local_day = new_york_dates(bars["timestamp"])
    keys = sorted(lacking)
    bounds = pd.DataFrame(
        {"key": keys, "lo": [lacking[k][0] for k in keys], "hi": [lacking[k][1] for k in keys]}
    ).set_index("key")
    unread = bars["timestamp"].isna()
    stray = ~unread & ~local_day.isin(keys)
    no_session = {day for day in local_day[stray].unique() if not is_session(day)}
    homeless = stray & local_day.isin(no_session)
    session = local_day.copy()
    if homeless.any():
        earlier = [[k for k in keys if k <= day] or keys[:1] for day in local_day[homeless]]
        session[homeless] = [candidates[-1] for candidates in earlier]
    session[unread] = keys[0]
    lo, hi = session.map(bounds["lo"]), session.map(bounds["hi"])
    stamps = bars["timestamp"]
    in_window = lo.notna() & (stamps >= lo) & (stamps < hi) & (stamps + MINUTE <= hi)
    in_request = (stamps >= bounds["lo"].min()) & (stamps + MINUTE <= bounds["hi"].max())
    keep = (in_window | (homeless & in_request) | unread).to_numpy()
    return bars[keep].assign(session=session[keep].to_numpy()).reset_index(drop=True)


@dataclass(frozen=True)
class Judged:
    """A delivery's verdict before anything is written: its bars, the minutes it held twice
    differently, its rows that are no bars, the stored rows it leaves in place, the gate report."""

    clean: pd.DataFrame
    clashes: pd.DataFrame
    flagged: object
    quarantined: pd.DataFrame
    stored: pd.DataFrame
    report: GateReport


def judge(
    connection,
    delivery: pd.DataFrame,
    windows: dict[str, Window],
    settings: Settings,
    source_order: list[str],
    live: bool,
) -> Judged:
    """Gates the sessions as landing the delivery would (the rules run on the stored rows with
    the delivery merged in), writing nothing."""
    bars, quarantined = quarantine.split(delivery)
    clean, clashes = delivery_conflicts(bars)
    keys = ["symbol", "timestamp", "data_source"]
    flagged = (
        clean.set_index(keys).index.isin(clashes.set_index(keys).index) if len(clashes) else False
    )
    stored = raw_bars.rows(connection, list(windows), settings.data.symbols)
    if len(clean) and len(stored):
        stored = stored[~stored.set_index(keys).index.isin(clean.set_index(keys).index)]
    merged = (
        pd.concat(
            [stored, clean.assign(conflict=flagged, gate_status="pending", gate_reason=None)],
            ignore_index=True,
        )
        if len(stored)
        else clean.assign(conflict=flagged, gate_status="pending", gate_reason=None)
    )
    report = raw_bars_report(merged, clashes, windows, settings, source_order, live, quarantined)
    return Judged(clean, clashes, flagged, quarantined, stored, report)


def land_and_gate(
    connection,
    delivery: pd.DataFrame,
    windows: dict[str, Window],
    settings: Settings,
    source_order: list[str],
    run_id: str | None,
    fetched_at,
    live: bool,
) -> tuple[pd.DataFrame, GateReport]:
    """Lands a delivery in raw_bars and gates the sessions, in the caller's transaction: the
    delivery is stored with its verdict (judge), earlier rows whose verdict changed are re-marked
    (with the run and the reason), failures are recorded by reason. Exact repeats are dropped;
    minutes delivered twice differently are flagged. Rows that are no bars (quality.quarantine)
    are kept in quarantine and block their check."""
    symbols = settings.data.symbols
    judged = judge(connection, delivery, windows, settings, source_order, live)
    # Judging only reads, so chunks are judged side by side; their writes go one transaction at
    # a time (the failure totals and feed health they share are then never locked in two orders).
    one_at_a_time(connection, LANDING_LOCK_KEY)
    timescale.allow_decompression(connection)  # a re-backfill of compressed history lands
    clean, clashes, report = judged.clean, judged.clashes, judged.report
    verdicts = report.verdicts()
    record_report(connection, report, run_id, delivered_by(clean))
    raw_bars.land(connection, clean, run_id, fetched_at, clashes, verdicts)
    kept = [rows for rows in (judged.quarantined, quarantine.clash_rows(clashes)) if len(rows)]
    if kept:
        raw_bars.quarantine(connection, pd.concat(kept, ignore_index=True), run_id, fetched_at)
    if len(judged.stored):
        raw_bars.mark_gate(connection, verdicts, symbols, run_id)
    raw_bars.record_gated(connection, windows, verdicts, symbols, run_id)
    feed_health.record_ingested(
        connection, clean.groupby(["symbol", "data_source"]).size().to_dict()
    )
    return clean, report


def record_report(
    connection, report: GateReport, run_id: str | None, sources: dict[str, str] | None = None
) -> None:
    """The one place gate failures are recorded (quality_failures, totals by reason), each with
    the feed that delivered its session when one did ({session: feed})."""
    sources = sources or {}
    for session, failed in report.failures().items():
        record_failures(connection, failed, run_id, session, report.asset, sources.get(session))


def delivered_by(delivery: pd.DataFrame) -> dict[str, str]:
    """{session: feed} for the sessions one feed delivered alone."""
    if delivery.empty:
        return {}
    feeds = delivery.groupby("session")["data_source"].unique()
    return {str(key): names[0] for key, names in feeds.items() if len(names) == 1}


def require_passed(connection, windows: dict[str, Window], symbols) -> None:
    """Refuses sessions whose raw rows have not passed the gate."""
    refused = raw_bars.unpassed(connection, list(windows), symbols)
    if refused:
        session, why = sorted(refused.items())[0]
        raise GateNotPassed(
            f"session {session} has not passed the quality gate ({why}); "
            "fix the data and materialize raw_bars for it again"
        )


def validated(
    connection, windows: dict[str, Window], settings: Settings, source_order: list[str]
) -> pd.DataFrame:
    """The sessions' gated bars at the configured bar size; refuses sessions that did not pass."""
    rows = raw_bars.rows(connection, list(windows), settings.data.symbols)
    regular = gated_bars(rows, windows, source_order)
    unpassed = regular[regular["gate_status"] != "passed"]
    if not unpassed.empty:
        first = unpassed.iloc[0]
        why = first["gate_reason"] or "not gated yet"
        raise GateNotPassed(
            f"session {first['session']} has not passed the quality gate ({why}); "
            "fix the data and materialize raw_bars for it again"
        )
    regular[["open", "high", "low", "close"]] = regular[["open", "high", "low", "close"]].round(4)
    as_of = regular["session"].map({key: window.as_of for key, window in windows.items()})
    return aggregate(regular[[*BAR_COLUMNS, "session"]], settings.data.bar_size, as_of)


def stage_features(
    connection,
    windows: dict[str, Window],
    settings: Settings,
    run_id: str | None,
    history: pd.DataFrame | None,
    bars: pd.DataFrame,
) -> tuple[pd.DataFrame, GateReport, pd.DataFrame]:
    """Features of the sessions' validated bars (`validated`), warmed up on `history` (the bars
    before them; read from dual_ticker_bars when None), gated; staged for dual_ticker_bars when
    they pass, recorded as failures when they do not. Returns the features, the report and the
    history the next sessions start from (the latest warm-up bars per symbol)."""
    if history is None:
        history = warmup_history(connection, settings, bars)
    featured, report, following = featured_and_gated(windows, settings, history, bars)
    keep_features(connection, featured, report, windows, run_id)
    return featured, report, following


def warmup_history(connection, settings: Settings, bars: pd.DataFrame) -> pd.DataFrame:
    """The stored bars the first of `bars` warm up on (data.warmup_bars per symbol)."""
    if bars.empty:
        return bars.iloc[0:0]
    return contract_bars.history_before(
        connection, settings.data.symbols, bars["timestamp"].min(), settings.data.warmup_bars
    )


def featured_and_gated(
    windows: dict[str, Window], settings: Settings, history: pd.DataFrame, bars: pd.DataFrame
) -> tuple[pd.DataFrame, GateReport, pd.DataFrame]:
    """stage_features without the database: the features, their gate report and the history the
    next sessions start from."""
    featured = compute_features(history, bars)
    report = features_report(featured, list(windows), settings, history)
    carried = history.columns.intersection(bars.columns)
    following = (
        pd.concat([history[carried], bars[carried]], ignore_index=True)
        .sort_values(["symbol", "timestamp"])
        .groupby("symbol")
        .tail(settings.data.warmup_bars)
        .reset_index(drop=True)
    )
    return featured, report, following


def keep_features(
    connection,
    featured: pd.DataFrame,
    report: GateReport,
    windows: dict[str, Window],
    run_id: str | None,
) -> None:
    """Stages features that passed their gate; records the failures of features that did not."""
    if report.blocked:
        record_report(connection, report, run_id)
    else:
        contract_bars.stage(connection, featured, list(windows), run_id)


def publish(connection, windows: dict[str, Window], symbols, bar_minutes: int) -> dict:
    """Replaces the sessions' rows of dual_ticker_bars with their staged features, refusing (the
    caller's transaction then rolls back) when they differ from the bars the gate passed."""
    timescale.allow_decompression(connection)
    published = contract_bars.publish(connection, windows, symbols)
    verify_published(connection, windows, symbols, bar_minutes)
    return published


def verify_published(connection, windows: dict[str, Window], symbols, bar_minutes: int) -> None:
    """Raises RowsVanished naming the first session whose stored contract rows are not the
    complete bars of its passed raw rows, or whose passed raw rows are fewer than the gate
    passed: rows vanished between steps (a retention policy, a delete), on any storage."""
    expected = raw_bars.passed_bars(connection, windows, symbols, bar_minutes)
    stored = contract_bars.counts_by_session(connection, windows, symbols)
    for key in sorted(set(expected) | set(stored)):
        minutes, bars, gated = expected.get(key, (0, 0, None))
        session, symbol = key
        if gated is not None and minutes < gated:
            raise RowsVanished(
                f"session {session}: {gated - minutes} of the {gated} {symbol} minutes the gate "
                "passed are gone from raw_bars (a retention policy or a delete?); nothing was "
                "published for the chunk: materialize raw_bars for the session again"
            )
        if stored.get(key, 0) != bars:
            raise RowsVanished(
                f"session {session}: {stored.get(key, 0)} {symbol} rows would be published "
                f"where the passed raw bars make {bars}; rows vanished between steps, nothing "
                "was published for the chunk: materialize the session again from raw_bars"
            )
