"""The gate's rules on one session's bars: each returns an Outcome a person can act on."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dual_ticker.market_calendar import NEW_YORK, expected_bar_starts
from dual_ticker.quality.schemas import BarSchema, schema_failures
from dual_ticker.settings import ValidationSettings

ERROR, WARN = "ERROR", "WARN"
SAMPLE_ROWS = 5


@dataclass(frozen=True)
class Outcome:
    """The result of one rule on one asset for the sessions of a run."""

    check_name: str
    reason: str
    passed: bool
    severity: str
    description: str
    metadata: dict = field(default_factory=dict)

    @property
    def blocks(self) -> bool:
        return not self.passed and self.severity == ERROR


@dataclass(frozen=True)
class MissingLimits:
    warn: float
    fail: float
    fallback_fail: float
    min_expected_bars: int


def _sample(frame: pd.DataFrame, columns=("symbol", "timestamp", "open", "high", "low", "close", "volume")) -> list[dict]:
    rows = frame[[c for c in columns if c in frame.columns]].head(SAMPLE_ROWS)
    return [{k: (str(v) if isinstance(v, pd.Timestamp) else v) for k, v in row.items()} for row in rows.to_dict("records")]


def _outcome(check: str, reason: str, problems: list[str], severity: str, ok_text: str, **metadata) -> Outcome:
    if not problems:
        return Outcome(check, reason, True, severity, ok_text, metadata)
    return Outcome(check, reason, False, severity, "; ".join(problems), metadata)


def delivery_conflicts(delivery: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Drops exact repeats; returns (clean delivery, rows of minutes delivered twice differently)."""
    unique = delivery.drop_duplicates()
    keys = ["symbol", "timestamp", "data_source"]
    clashing = unique[unique.duplicated(keys, keep=False)]
    return unique.drop_duplicates(keys, keep="last"), clashing


def check_timestamps(
    session_rows: pd.DataFrame, clashes: pd.DataFrame, session: pd.Timestamp, check: str
) -> Outcome:
    """Minutes delivered twice differently, bars off the minute grid, off the session's day, or
    outside the trading day (04:00-20:00 New York: a shifted time zone lands there)."""
    problems = []
    if not clashes.empty:
        minutes = clashes[["symbol", "timestamp"]].drop_duplicates().shape[0]
        problems.append(f"{minutes} minute(s) delivered twice with different values")
    off_grid = session_rows[session_rows["timestamp"] != session_rows["timestamp"].dt.floor("min")]
    if not off_grid.empty:
        problems.append(f"{len(off_grid)} bar(s) off the 1-minute grid")
    local = session_rows["timestamp"].dt.tz_convert(NEW_YORK)
    wrong_day = session_rows[local.dt.normalize().dt.tz_localize(None) != session]
    if not wrong_day.empty:
        problems.append(f"{len(wrong_day)} bar(s) dated off session {session.date()} (wrong time zone?)")
    minute_of_day = local.dt.hour * 60 + local.dt.minute
    night = session_rows[(minute_of_day < 4 * 60) | (minute_of_day >= 20 * 60)]
    if not night.empty:
        problems.append(f"{len(night)} bar(s) outside 04:00-20:00 New York (wrong time zone?)")
    bad = pd.concat([clashes, off_grid, wrong_day, night])
    return _outcome(
        check, "timestamp", problems, ERROR, "timestamps on the minute grid, one bar per minute",
        failing_rows=_sample(bad), failing_count=len(bad),
    )


def check_freshness(bars: pd.DataFrame, as_of: pd.Timestamp, symbols, max_minutes: int, check: str) -> Outcome:
    """Live runs: each symbol's latest bar ends within the limit of as_of (WARN: a halted symbol
    must not stop the other; a dead feed is the failover sensor's to handle)."""
    problems, lags = [], {}
    for symbol in symbols:
        own = bars[bars["symbol"] == symbol]
        lag = (as_of - (own["timestamp"].max() + pd.Timedelta(minutes=1))) if len(own) else None
        lags[symbol] = None if lag is None else lag.total_seconds()
        if lag is None or lag > pd.Timedelta(minutes=max_minutes):
            problems.append(f"{symbol} latest bar {'missing' if lag is None else f'{lag} old'} at {as_of}")
    return _outcome(check, "timestamp", problems, WARN, "latest bars fresh", lag_seconds=lags,
                    max_staleness_minutes=max_minutes)


def check_ohlc(bars: pd.DataFrame, check: str) -> Outcome:
    failures = schema_failures(BarSchema, bars.reset_index(drop=True))
    price_failures = failures[~failures["column"].isin(["volume"])]
    if price_failures.empty:
        return Outcome(check, "ohlc_violation", True, ERROR, "low <= open, close <= high; prices positive and finite",
                       {"bars_checked": len(bars)})
    rows = bars.reset_index(drop=True).loc[price_failures["index"].dropna().astype(int).unique()]
    rules = sorted(price_failures["check"].astype(str).unique())
    return Outcome(
        check, "ohlc_violation", False, ERROR,
        f"{len(rows)} bar(s) break OHLC rules ({', '.join(rules)})",
        {"failing_count": len(rows), "rules": rules, "failing_rows": _sample(rows)},
    )


def missing_ratio(bars: pd.DataFrame, expected: pd.DatetimeIndex, min_expected: int) -> float:
    """1 - present / expected, with the denominator floored early in the session."""
    if len(expected) == 0:
        return 0.0
    present = bars["timestamp"].isin(expected).sum()
    absent = len(expected) - present
    return float(absent / max(len(expected), min_expected))


def check_missing(
    bars: pd.DataFrame, session: pd.Timestamp, as_of: pd.Timestamp, symbols, limits: MissingLimits,
    fallback_sources: set[str], check: str,
) -> Outcome:
    """Per symbol: the share of calendar minutes (up to as_of) with no bar."""
    expected = expected_bar_starts(session, 1, as_of)
    ratios, problems, severity = {}, [], WARN
    for symbol in symbols:
        own = bars[bars["symbol"] == symbol]
        ratio = missing_ratio(own, expected, limits.min_expected_bars)
        ratios[symbol] = round(ratio, 6)
        from_fallback = own["data_source"].isin(fallback_sources).any()
        fail_at = limits.fallback_fail if from_fallback else limits.fail
        if ratio > fail_at:
            severity = ERROR
            problems.append(f"{symbol} missing {ratio:.2%} of {len(expected)} minutes (limit {fail_at:.2%})")
        elif ratio > limits.warn:
            problems.append(f"{symbol} missing {ratio:.2%} of {len(expected)} minutes (warn above {limits.warn:.2%})")
    return _outcome(
        check, "missing_data", problems, severity, "every symbol within the missing-data limits",
        missing_ratio=ratios, expected_minutes=len(expected), warn_threshold=limits.warn,
        fail_threshold=limits.fail, fallback_fail_threshold=limits.fallback_fail,
    )


def check_volume(bars: pd.DataFrame, rules: ValidationSettings, check: str) -> Outcome:
    problems, severity = [], WARN
    negative = bars[bars["volume"] < 0]
    if not negative.empty:
        severity = ERROR
        problems.append(f"{len(negative)} bar(s) with negative volume")
    zero_share = float((bars["volume"] == 0).mean()) if len(bars) else 0.0
    if zero_share > rules.volume.max_zero_volume_share:
        severity = ERROR
        problems.append(f"{zero_share:.1%} of bars trade zero shares (limit {rules.volume.max_zero_volume_share:.0%})")
    median = bars.groupby("symbol")["volume"].transform("median")
    spikes = bars[(median > 0) & (bars["volume"] > rules.volume.spike_factor * median)]
    if not spikes.empty:
        problems.append(f"{len(spikes)} bar(s) above {rules.volume.spike_factor:g}x the session median volume")
    return _outcome(
        check, "volume", problems, severity, "volumes plausible",
        zero_volume_share=round(zero_share, 6), max_zero_volume_share=rules.volume.max_zero_volume_share,
        spike_factor=rules.volume.spike_factor, failing_count=len(negative) + len(spikes),
        failing_rows=_sample(pd.concat([negative, spikes])),
    )


def check_price_jump(bars: pd.DataFrame, rules: ValidationSettings, check: str) -> Outcome:
    """Close-to-close moves between consecutive bars of one session (overnight gaps excluded)."""
    ordered = bars.sort_values(["symbol", "timestamp"])
    jump = ordered.groupby("symbol")["close"].pct_change().abs()
    jumps = ordered[jump > rules.max_price_jump]
    problems = []
    if not jumps.empty:
        problems.append(f"{len(jumps)} close-to-close move(s) above {rules.max_price_jump:.0%}")
    largest = float(np.nan_to_num(jump.max())) if len(jump) else 0.0
    return _outcome(
        check, "price_jump", problems, ERROR, "no intra-session jumps beyond the limit",
        largest_move=round(largest, 6), threshold=rules.max_price_jump, failing_rows=_sample(jumps),
    )
