"""The gate per asset: which rules run on which bars, in what order, with which thresholds."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dual_ticker.features.indicators import EMA_LONG, EMA_SHORT, RSI_PERIOD
from dual_ticker.quality import rules
from dual_ticker.quality.bar_series import prefer_sources
from dual_ticker.quality.rules import ERROR, MissingLimits, Outcome, Window
from dual_ticker.quality.schemas import FeatureSchema, schema_failures
from dual_ticker.quality.splits import suspected_splits, what_to_do
from dual_ticker.settings import Settings

RAW_BARS_CHECKS = {
    "check_raw_bars_timestamps": "One bar per minute on the minute grid, dated on the session's day.",
    "check_raw_bars_ohlc": "Low <= open, close <= high; prices positive and finite (pandera).",
    "check_raw_bars_missing_data": "Share of calendar minutes without a bar, per symbol, within limits.",
    "check_raw_bars_volume": "Volumes non-negative, not mostly zero, no implausible spikes.",
    "check_raw_bars_price_jump": "No close-to-close move beyond the limit within a session.",
    "check_raw_bars_freshness": "Live runs: the latest bar of each symbol is recent (WARN only).",
}
FEATURES_CHECKS = {
    "check_features_indicator_bounds": "RSI in [0, 100], EMAs and VWAP near the session's prices, no NaN past warm-up.",
}


def gated_bars(
    rows: pd.DataFrame, windows: dict[str, Window], source_order: list[str]
) -> pd.DataFrame:
    """The bars downstream would use: preferred source per minute, regular hours, complete by as_of.

    `rows` carries a `session` column with the window keys.
    """
    chosen = prefer_sources(rows, source_order)
    key = chosen["session"]
    opened = key.map({k: w.opened for k, w in windows.items()})
    closed = key.map({k: w.closed for k, w in windows.items()})
    as_of = key.map({k: w.as_of for k, w in windows.items()})
    stamp = chosen["timestamp"]
    inside = (stamp >= opened) & (stamp < closed) & (stamp + pd.Timedelta(minutes=1) <= as_of)
    return chosen[inside.to_numpy()].reset_index(drop=True)


@dataclass(frozen=True)
class GateReport:
    """One asset's gate over a run: each check's outcome per session."""

    asset: str
    by_session: dict[str, list[Outcome]]

    def merged_with(self, other: GateReport) -> GateReport:
        """This report and a later chunk's, as one report over both chunks' sessions."""
        return GateReport(self.asset, {**self.by_session, **other.by_session})

    @property
    def blocked(self) -> bool:
        return any(o.blocks for outcomes in self.by_session.values() for o in outcomes)

    def verdicts(self) -> dict[str, tuple[bool, str | None]]:
        """{session: (passed, why not)} for marking the session's rows."""
        verdicts = {}
        for key, outcomes in self.by_session.items():
            blocking = [o for o in outcomes if o.blocks]
            why = "; ".join(f"{o.reason}: {o.description}" for o in blocking) or None
            verdicts[key] = (not blocking, why)
        return verdicts

    def failures(self) -> dict[str, list[Outcome]]:
        """{session: its failed outcomes} (ERROR and WARN), for the quality log."""
        failed = {k: [o for o in outs if not o.passed] for k, outs in self.by_session.items()}
        return {key: outcomes for key, outcomes in failed.items() if outcomes}

    def failures_by_reason(self) -> dict[str, int]:
        """Blocking failures counted by reason over the run's sessions."""
        counts: dict[str, int] = {}
        for outcomes in self.by_session.values():
            for outcome in outcomes:
                if outcome.blocks:
                    counts[outcome.reason] = counts.get(outcome.reason, 0) + 1
        return counts

    def outcomes(self) -> list[Outcome]:
        """One outcome per check over the run's sessions: the worst session speaks for the check,
        with the failing sessions listed."""

        def rank(outcome):
            return 2 if outcome.blocks else 1 if not outcome.passed else 0

        worst: dict[str, tuple[str, Outcome]] = {}
        failing: dict[str, list[str]] = {}
        for key in sorted(self.by_session):
            for outcome in self.by_session[key]:
                name = outcome.check_name
                if name not in worst or rank(outcome) > rank(worst[name][1]):
                    worst[name] = (key, outcome)
                if not outcome.passed:
                    failing.setdefault(name, []).append(key)
        many = len(self.by_session) > 1
        merged = []
        for name, (key, outcome) in worst.items():
            extra = {"session": key, "sessions_checked": len(self.by_session)}
            if many:
                extra["failing_sessions"] = failing.get(name, [])[:20]
            prefix = f"{key}: " if many and not outcome.passed else ""
            merged.append(
                Outcome(
                    name,
                    outcome.reason,
                    outcome.passed,
                    outcome.severity,
                    prefix + outcome.description,
                    {**outcome.metadata, **extra},
                )
            )
        return merged


def raw_bars_report(
    rows: pd.DataFrame,
    clashes: pd.DataFrame,
    windows: dict[str, Window],
    settings: Settings,
    source_order: list[str],
    live: bool = False,
    quarantined: pd.DataFrame | None = None,
) -> GateReport:
    """Every raw_bars rule over the stored rows (all sources) of the run's sessions, one pass;
    the delivery's quarantined rows (quality.quarantine) fail the check each names."""
    warn, fail = settings.missing_ratio_limits
    v = settings.validation
    limits = MissingLimits(warn, fail, v.missing_ratio_fallback, v.min_expected_bars)
    stored_clashes = rows[rows["conflict"]] if "conflict" in rows else rows.iloc[0:0]
    all_clashes = pd.concat([clashes, stored_clashes])
    bars = gated_bars(rows, windows, source_order)
    keys = list(windows)
    symbols = settings.data.symbols
    fallbacks = set(source_order[1:])

    def freshness(name):
        if live:
            return rules.check_freshness(
                bars, windows, symbols, v.max_staleness_minutes, name, settings.feeds.delay_minutes
            )
        idle = "not a live run: freshness not judged"
        return {key: Outcome(name, "timestamp", True, rules.WARN, idle) for key in keys}

    checks = {
        "check_raw_bars_timestamps": lambda name: rules.check_timestamps(
            rows, all_clashes, keys, name
        ),
        "check_raw_bars_ohlc": lambda name: rules.check_ohlc(bars, keys, name),
        "check_raw_bars_missing_data": lambda name: rules.check_missing(
            bars, windows, symbols, limits, fallbacks, name
        ),
        "check_raw_bars_volume": lambda name: rules.check_volume(bars, keys, v, name),
        "check_raw_bars_price_jump": lambda name: rules.check_price_jump(bars, keys, v, name),
        "check_raw_bars_freshness": freshness,
    }
    results = {name: checks[name](name) for name in RAW_BARS_CHECKS}
    if quarantined is not None and len(quarantined):
        for (key, name), rows in quarantined.groupby(["session", "check_name"]):
            if key in results[name]:
                results[name][key] = _with_quarantined(results[name][key], rows)
    return GateReport(
        "raw_bars", {key: [results[name][key] for name in RAW_BARS_CHECKS] for key in keys}
    )


def _with_quarantined(outcome: Outcome, rows: pd.DataFrame) -> Outcome:
    """The check's outcome for a session with these of its delivered rows quarantined: blocked."""
    kinds = rows["reason"].value_counts()
    text = (
        f"{len(rows)} delivered row(s) quarantined ("
        + ", ".join(f"{reason}: {count}" for reason, count in kinds.items())
        + ")"
    )
    shown = rows.assign(
        timestamp=rows["timestamp"].map(lambda t: "unreadable" if pd.isna(t) else str(t))
    )
    return Outcome(
        outcome.check_name,
        outcome.reason,
        False,
        ERROR,
        text if outcome.passed else f"{text}; {outcome.description}",
        {
            **outcome.metadata,
            "quarantined_count": len(rows),
            "quarantined_rows": rules.sample(shown, ("symbol", "timestamp", "reason", "delivered")),
        },
    )


def features_outcomes(featured: pd.DataFrame, settings: Settings) -> list[Outcome]:
    """Indicator bounds on the features of a run's sessions."""
    name = "check_features_indicator_bounds"
    problems, bad_rows = [], []
    failures = schema_failures(FeatureSchema, featured.reset_index(drop=True))
    if not failures.empty:
        problems.append(
            f"{failures['index'].nunique()} row(s) out of bounds ({', '.join(sorted(failures['check'].astype(str).unique()))})"
        )
        bad_rows.append(
            featured.reset_index(drop=True).loc[failures["index"].dropna().astype(int).unique()]
        )
    seen = featured["bars_before"]
    undefined = (
        (featured["rsi"].isna() & (seen >= RSI_PERIOD))
        | (featured["ema_short"].isna() & (seen >= EMA_SHORT - 1))
        | (featured["ema_long"].isna() & (seen >= EMA_LONG - 1))
        | featured["vwap"].isna()
    )
    if undefined.any():
        problems.append(f"{int(undefined.sum())} row(s) with NaN indicators past the warm-up")
        bad_rows.append(featured[undefined])
    band = settings.validation.indicators.price_band
    session = featured["timestamp"].dt.tz_convert("America/New_York").dt.normalize()
    low = featured.groupby([featured["symbol"], session])["low"].transform("min") * (1 - band)
    high = featured.groupby([featured["symbol"], session])["high"].transform("max") * (1 + band)
    for column in ("ema_short", "ema_long", "vwap"):
        values = featured[column]
        outside = values.notna() & ((values < low) | (values > high))
        if outside.any():
            problems.append(
                f"{int(outside.sum())} {column} value(s) outside {band:.0%} of the session's range"
            )
            bad_rows.append(featured[outside])
    sample = (
        rules.sample(
            pd.concat(bad_rows),
            ("symbol", "timestamp", "close", "rsi", "ema_short", "ema_long", "vwap"),
        )
        if bad_rows
        else []
    )
    rsi = featured["rsi"].dropna()
    metadata = {
        "rows_checked": len(featured),
        "rsi_min": float(np.min(rsi)) if len(rsi) else None,
        "rsi_max": float(np.max(rsi)) if len(rsi) else None,
        "failing_rows": sample,
    }
    if problems:
        return [Outcome(name, "indicator_bounds", False, ERROR, "; ".join(problems), metadata)]
    return [Outcome(name, "indicator_bounds", True, ERROR, "indicators within bounds", metadata)]


def features_report(
    featured: pd.DataFrame,
    sessions: list[str],
    settings: Settings,
    history: pd.DataFrame | None = None,
) -> GateReport:
    """Indicator bounds over the run's features, and no split between the warm-up `history` and
    them; each session of the run shares the outcome."""
    outcomes = features_outcomes(featured, settings)
    if history is not None and not featured.empty:
        splits = suspected_splits(history, featured)
        if len(splits):
            outcomes = [_with_splits(o, splits, settings.feeds.price_basis) for o in outcomes]
    return GateReport("features", {key: outcomes for key in sessions})


def _with_splits(outcome: Outcome, splits: pd.DataFrame, price_basis: str) -> Outcome:
    """The indicator outcome failed by a split in its window: the indicators straddle two price
    scales, whatever the bounds say, and the description says what to do first."""
    shown = splits.astype({"before": str, "after": str}).head(rules.SAMPLE_ROWS)
    text = what_to_do(splits, price_basis)
    return Outcome(
        outcome.check_name,
        outcome.reason,
        False,
        ERROR,
        text if outcome.passed else f"{text}; {outcome.description}",
        {**outcome.metadata, "suspected_splits": shown.to_dict("records")},
    )
