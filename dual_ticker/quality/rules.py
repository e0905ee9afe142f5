"""The gate's rules. Each works on the bars of many sessions at once (a `session` column holds the
partition key) and returns one Outcome per session, so a year's backfill costs one pass, not 252."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dual_ticker.calendar.nyse import NEW_YORK, new_york_dates
from dual_ticker.quality.schemas import BarSchema, schema_failures
from dual_ticker.settings import ValidationSettings

ERROR, WARN = "ERROR", "WARN"
SAMPLE_ROWS = 5
BAR_FIELDS = ("symbol", "timestamp", "open", "high", "low", "close", "volume")


@dataclass(frozen=True)
class Outcome:
    """The result of one rule on one asset for one session (or merged over a run's sessions)."""

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


@dataclass(frozen=True)
class Window:
    """A session of the run: its key, regular hours and the run's as_of for it."""

    key: str
    opened: pd.Timestamp
    closed: pd.Timestamp
    as_of: pd.Timestamp

    @property
    def expected_minutes(self) -> int:
        """Calendar minutes whose bar is complete by as_of (start + 1 min <= as_of)."""
        end = min(self.closed, self.as_of.floor("min"))
        return max(0, int((end - self.opened) / pd.Timedelta(minutes=1)))


def sample(frame: pd.DataFrame, columns=BAR_FIELDS) -> list[dict]:
    if frame.empty:  # most sessions of a backfill: no frame work for them
        return []
    rows = frame[[c for c in columns if c in frame.columns]].head(SAMPLE_ROWS)
    return [
        {k: (str(v) if isinstance(v, pd.Timestamp) else v) for k, v in row.items()}
        for row in rows.to_dict("records")
    ]


def _per_session(
    keys, check, reason, severity_of, problems_of, ok_text, metadata_of
) -> dict[str, Outcome]:
    outcomes = {}
    for key in keys:
        problems = problems_of(key)
        passed = not problems
        outcomes[key] = Outcome(
            check,
            reason,
            passed,
            severity_of(key),
            ok_text if passed else "; ".join(problems),
            metadata_of(key),
        )
    return outcomes


def _groups(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return dict(tuple(frame.groupby("session", sort=False))) if len(frame) else {}


def delivery_conflicts(delivery: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Drops exact repeats; returns (clean delivery, rows of minutes delivered twice differently)."""
    keys = ["symbol", "timestamp", "data_source"]
    if not delivery.duplicated(keys).any():  # no minute twice: no repeats either
        return delivery, delivery.iloc[0:0]
    unique = delivery.drop_duplicates()
    clashing = unique[unique.duplicated(keys, keep=False)]
    return unique.drop_duplicates(keys, keep="last"), clashing


def check_timestamps(
    rows: pd.DataFrame, clashes: pd.DataFrame, keys, check: str
) -> dict[str, Outcome]:
    """Minutes delivered twice differently, bars off the minute grid, off the session's day, or
    outside the trading day (04:00-20:00 New York: a shifted time zone lands there)."""
    local = rows["timestamp"].dt.tz_convert(NEW_YORK)
    minute_of_day = local.dt.hour * 60 + local.dt.minute
    kinds = {
        "off_grid": _groups(rows[rows["timestamp"] != rows["timestamp"].dt.floor("min")]),
        "wrong_day": _groups(rows[new_york_dates(rows["timestamp"]) != rows["session"]]),
        "night": _groups(rows[(minute_of_day < 4 * 60) | (minute_of_day >= 20 * 60)]),
        "clash": _groups(clashes),
    }

    none = rows.iloc[0:0]

    def found(kind, key):
        return kinds[kind].get(key, none)

    def problems(key):
        text = []
        if len(found("clash", key)):
            minutes = found("clash", key)[["symbol", "timestamp"]].drop_duplicates().shape[0]
            text.append(f"{minutes} minute(s) delivered twice with different values")
        if len(found("off_grid", key)):
            text.append(f"{len(found('off_grid', key))} bar(s) off the 1-minute grid")
        if len(found("wrong_day", key)):
            text.append(
                f"{len(found('wrong_day', key))} bar(s) dated off session {key} (wrong time zone?)"
            )
        if len(found("night", key)):
            text.append(
                f"{len(found('night', key))} bar(s) outside 04:00-20:00 New York (wrong time zone?)"
            )
        return text

    def metadata(key):
        parts = [kinds[kind][key] for kind in kinds if key in kinds[kind]]
        bad = pd.concat(parts) if parts else none
        return {"failing_count": len(bad), "failing_rows": sample(bad)}

    return _per_session(
        keys,
        check,
        "timestamp",
        lambda _: ERROR,
        problems,
        "timestamps on the minute grid, one bar per minute",
        metadata,
    )


def check_freshness(
    bars: pd.DataFrame,
    windows: dict[str, Window],
    symbols,
    max_minutes: int,
    check: str,
    delay_minutes: int = 0,
) -> dict[str, Outcome]:
    """Live runs: each symbol's latest bar ends within the limit of as_of (WARN: a halted symbol
    must not stop the other; a dead feed is the failover sensor's to handle). With a delayed feed
    the run's as_of is already `delay_minutes` before the tick: every live run WARNs that reason."""
    latest = (
        bars.groupby(["session", "symbol"])["timestamp"].max()
        if len(bars)
        else pd.Series(dtype=object)
    )
    lags: dict[str, dict] = {}

    def problems(key):
        text, lags[key] = [], {}
        as_of = windows[key].as_of
        if delay_minutes:
            text.append(
                f"delayed entitlement: bars arrive {delay_minutes} min late "
                f"(live data ends at {as_of}, {delay_minutes} min before the tick)"
            )
        for symbol in symbols:
            last = latest.get((key, symbol))
            lag = None if last is None else as_of - (last + pd.Timedelta(minutes=1))
            lags[key][symbol] = None if lag is None else lag.total_seconds()
            if lag is None or lag > pd.Timedelta(minutes=max_minutes):
                text.append(
                    f"{symbol} latest bar {'missing' if lag is None else f'{lag} old'} at {as_of}"
                )
        return text

    return _per_session(
        list(windows),
        check,
        "timestamp",
        lambda _: WARN,
        problems,
        "latest bars fresh",
        lambda key: {
            "lag_seconds": lags[key],
            "max_staleness_minutes": max_minutes,
            "delay_minutes": delay_minutes,
        },
    )


def check_ohlc(bars: pd.DataFrame, keys, check: str) -> dict[str, Outcome]:
    """pandera's BarSchema over every bar of the run at once."""
    bars = bars.reset_index(drop=True)
    failures = schema_failures(BarSchema, bars)
    failures = failures[~failures["column"].isin(["volume"])].dropna(subset=["index"])
    index = failures["index"].astype(int).to_numpy()
    bad = _groups(bars.loc[np.unique(index)])
    rules_by_session = (
        failures.assign(session=bars.loc[index, "session"].to_numpy())
        .groupby("session")["check"]
        .agg(lambda c: sorted(set(map(str, c))))
        .to_dict()
    )
    counts = bars.groupby("session").size().to_dict() if len(bars) else {}

    def problems(key):
        if key not in bad:
            return []
        return [f"{len(bad[key])} bar(s) break OHLC rules ({', '.join(rules_by_session[key])})"]

    def metadata(key):
        if key not in bad:
            return {"bars_checked": int(counts.get(key, 0))}
        return {
            "failing_count": len(bad[key]),
            "rules": rules_by_session.get(key, []),
            "failing_rows": sample(bad[key]),
        }

    return _per_session(
        keys,
        check,
        "ohlc_violation",
        lambda _: ERROR,
        problems,
        "low <= open, close <= high; prices positive and finite",
        metadata,
    )


def check_missing(
    bars: pd.DataFrame,
    windows: dict[str, Window],
    symbols,
    limits: MissingLimits,
    fallback_sources: set[str],
    check: str,
) -> dict[str, Outcome]:
    """Per session and symbol: the share of calendar minutes (up to as_of) with no bar. Early in a
    session the denominator is at least `min_expected_bars`, so one missing minute does not block."""
    present = bars.groupby(["session", "symbol"]).size().to_dict() if len(bars) else {}
    fallback = (
        bars[bars["data_source"].isin(fallback_sources)]
        .groupby(["session", "symbol"])
        .size()
        .to_dict()
        if fallback_sources and len(bars)
        else {}
    )
    found: dict[str, tuple[list, str, dict]] = {}
    for key, window in windows.items():
        expected = window.expected_minutes
        problems, severity, ratios = [], WARN, {}
        for symbol in symbols:
            absent = max(0, expected - present.get((key, symbol), 0))
            ratio = absent / max(expected, limits.min_expected_bars) if expected else 0.0
            ratios[symbol] = round(ratio, 6)
            fail_at = limits.fallback_fail if fallback.get((key, symbol)) else limits.fail
            if ratio > fail_at:
                severity = ERROR
                problems.append(
                    f"{symbol} missing {ratio:.2%} of {expected} minutes (limit {fail_at:.2%})"
                )
            elif ratio > limits.warn:
                problems.append(
                    f"{symbol} missing {ratio:.2%} of {expected} minutes (warn above {limits.warn:.2%})"
                )
        found[key] = (problems, severity, ratios)
    return _per_session(
        list(windows),
        check,
        "missing_data",
        lambda key: found[key][1],
        lambda key: found[key][0],
        "every symbol within the missing-data limits",
        lambda key: {
            "missing_ratio": found[key][2],
            "expected_minutes": windows[key].expected_minutes,
            "warn_threshold": limits.warn,
            "fail_threshold": limits.fail,
            "fallback_fail_threshold": limits.fallback_fail,
        },
    )


def check_volume(
    bars: pd.DataFrame, keys, rules: ValidationSettings, check: str
) -> dict[str, Outcome]:
    limit, factor = rules.volume.max_zero_volume_share, rules.volume.spike_factor
    negative = _groups(bars[bars["volume"] < 0])
    zero_share = (
        (bars["volume"] == 0).groupby(bars["session"]).mean().to_dict() if len(bars) else {}
    )
    median = (
        bars.groupby(["session", "symbol"])["volume"].transform("median")
        if len(bars)
        else bars["volume"]
    )
    spikes = _groups(bars[(median > 0) & (bars["volume"] > factor * median)])
    empty = bars.iloc[0:0]

    def severity(key):
        return ERROR if key in negative or zero_share.get(key, 0.0) > limit else WARN

    def problems(key):
        text = []
        if key in negative:
            text.append(f"{len(negative[key])} bar(s) with negative volume")
        if zero_share.get(key, 0.0) > limit:
            text.append(f"{zero_share[key]:.1%} of bars trade zero shares (limit {limit:.0%})")
        if key in spikes:
            text.append(f"{len(spikes[key])} bar(s) above {factor:g}x the session median volume")
        return text

    def metadata(key):
        parts = [found[key] for found in (negative, spikes) if key in found]
        bad = pd.concat(parts) if parts else empty
        return {
            "zero_volume_share": round(float(zero_share.get(key, 0.0)), 6),
            "max_zero_volume_share": limit,
            "spike_factor": factor,
            "failing_count": len(bad),
            "failing_rows": sample(bad),
        }

    return _per_session(keys, check, "volume", severity, problems, "volumes plausible", metadata)


def check_price_jump(
    bars: pd.DataFrame, keys, rules: ValidationSettings, check: str
) -> dict[str, Outcome]:
    """Close-to-close moves between consecutive bars of one session (overnight gaps excluded)."""
    ordered = bars.sort_values(["session", "symbol", "timestamp"])
    jump = ordered.groupby(["session", "symbol"])["close"].pct_change(fill_method=None).abs()
    largest = jump.groupby(ordered["session"]).max().to_dict() if len(ordered) else {}
    jumps = _groups(ordered[jump > rules.max_price_jump])

    def problems(key):
        if key not in jumps:
            return []
        return [f"{len(jumps[key])} close-to-close move(s) above {rules.max_price_jump:.0%}"]

    return _per_session(
        keys,
        check,
        "price_jump",
        lambda _: ERROR,
        problems,
        "no intra-session jumps beyond the limit",
        lambda key: {
            "largest_move": round(float(np.nan_to_num(largest.get(key, 0.0))), 6),
            "threshold": rules.max_price_jump,
            "failing_rows": sample(jumps[key]) if key in jumps else [],
        },
    )
