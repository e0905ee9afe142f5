"""The gate per asset: which rules run on which bars, in what order, with which thresholds."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dual_ticker.calendar.nyse import session_close, session_open
from dual_ticker.features.indicators import EMA_LONG, EMA_SHORT, RSI_PERIOD
from dual_ticker.quality import rules
from dual_ticker.quality.bar_series import prefer_sources
from dual_ticker.quality.rules import ERROR, MissingLimits, Outcome, Window
from dual_ticker.quality.schemas import FeatureSchema, schema_failures
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


def session_window(session: pd.Timestamp, as_of: pd.Timestamp) -> Window:
    return Window(str(session.date()), session_open(session), session_close(session), as_of)


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


def raw_bars_outcomes_by_session(
    rows: pd.DataFrame,
    clashes: pd.DataFrame,
    windows: dict[str, Window],
    settings: Settings,
    source_order: list[str],
    live: bool = False,
) -> dict[str, list[Outcome]]:
    """Every raw_bars rule over the stored rows (all sources) of the run's sessions, one pass."""
    warn, fail = settings.missing_ratio_limits
    v = settings.validation
    limits = MissingLimits(warn, fail, v.missing_ratio_fallback, v.min_expected_bars)
    stored_clashes = rows[rows["conflict"]] if "conflict" in rows else rows.iloc[0:0]
    bars = gated_bars(rows, windows, source_order)
    keys = list(windows)
    names = list(RAW_BARS_CHECKS)
    symbols = settings.data.symbols
    results = [
        rules.check_timestamps(rows, pd.concat([clashes, stored_clashes]), keys, names[0]),
        rules.check_ohlc(bars, keys, names[1]),
        rules.check_missing(bars, windows, symbols, limits, set(source_order[1:]), names[2]),
        rules.check_volume(bars, keys, v, names[3]),
        rules.check_price_jump(bars, keys, v, names[4]),
        rules.check_freshness(bars, windows, symbols, v.max_staleness_minutes, names[5])
        if live
        else {
            key: Outcome(
                names[5], "timestamp", True, rules.WARN, "not a live run: freshness not judged"
            )
            for key in keys
        },
    ]
    return {key: [by_session[key] for by_session in results] for key in keys}


def raw_bars_outcomes(
    session_rows: pd.DataFrame,
    clashes: pd.DataFrame,
    session: pd.Timestamp,
    as_of: pd.Timestamp,
    settings: Settings,
    source_order: list[str],
    live: bool = False,
) -> list[Outcome]:
    """The rules on one session's stored rows plus this delivery's clashes."""
    window = session_window(session, as_of)
    tagged = session_rows.assign(session=window.key)
    return raw_bars_outcomes_by_session(
        tagged,
        clashes.assign(session=window.key),
        {window.key: window},
        settings,
        source_order,
        live,
    )[window.key]


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
    session = featured["timestamp"].dt.tz_convert("America/New_York").dt.date
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
