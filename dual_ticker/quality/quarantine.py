"""Delivered rows that are not bars the gate can judge: values that are not finite numbers or are
beyond any real price or volume, times that are unreadable or off the session, and the versions of
a minute delivered twice differently. Each is quarantined as delivered, with why and the blocking
check it fails; the rest of the delivery is the bars."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dual_ticker.calendar.nyse import NEW_YORK, new_york_dates
from dual_ticker.feeds.base import BAR_COLUMNS, PRICE_COLUMNS
from dual_ticker.feeds.delivered import DELIVERED, delivered_text

# dual_ticker_bars stores prices as NUMERIC(12,4): a price of 1e8 or more is no price (and would
# not fit); smaller but implausible moves are the price-jump rule's.
MAX_PRICE = 1e8
# More shares in one minute than any listed company has issued.
MAX_VOLUME = 1e12
OHLC, VOLUME, TIMESTAMPS = (
    "check_raw_bars_ohlc",
    "check_raw_bars_volume",
    "check_raw_bars_timestamps",
)
COLUMNS = ["session", "symbol", "data_source", "timestamp", DELIVERED, "check_name", "reason"]
CLASH = "delivered twice with different values"


def _value_problems(bars: pd.DataFrame) -> list[tuple[str, pd.Series]]:
    """(check, reason per row or None) for each kind of bad value, in the order they are named."""
    found = []
    for column in PRICE_COLUMNS:
        value = bars[column]
        reason = pd.Series(None, index=bars.index, dtype=object)
        _mark(reason, value.isna(), f"{column} is not a number")
        _mark(reason, np.isinf(value), f"{column} is infinite")
        absurd = np.isfinite(value) & (value.abs() >= MAX_PRICE)
        _mark(reason, absurd, f"{column} is absurd (>= {MAX_PRICE:g})")
        found.append((OHLC, reason))
    volume = bars["volume"].astype("float64")
    reason = pd.Series(None, index=bars.index, dtype=object)
    _mark(reason, volume.isna(), "volume is not a number")
    _mark(reason, np.isinf(volume), "volume is infinite")
    fraction = np.isfinite(volume) & (volume != np.round(volume))
    _mark(reason, fraction, "volume is not a whole number")
    absurd = np.isfinite(volume) & (volume.abs() >= MAX_VOLUME)
    _mark(reason, absurd, f"volume is absurd (>= {MAX_VOLUME:g})")
    found.append((VOLUME, reason))
    return found


def _mark(reason: pd.Series, rows: pd.Series, why: str) -> None:
    """Sets `why` on the rows the mask flags (a later reason replaces an earlier one). A clean
    delivery flags none: any() is cheap, a masked assignment into an object column is not."""
    if rows.any():
        reason[rows] = why


def _time_problems(bars: pd.DataFrame) -> pd.Series:
    """Why a row's time is no minute of its session: unreadable, off the minute grid, dated on
    another day (none, for a weekend or holiday), or outside 04:00-20:00 New York."""
    stamps = bars["timestamp"]
    reason = pd.Series(None, index=bars.index, dtype=object)
    readable = stamps.notna()
    _mark(reason, ~readable, "time unreadable")
    if readable.any():
        known = stamps[readable]
        local = known.dt.tz_convert(NEW_YORK)
        minute_of_day = local.dt.hour * 60 + local.dt.minute
        night = (minute_of_day < 4 * 60) | (minute_of_day >= 20 * 60)
        if night.any():
            reason[night[night].index] = "time outside 04:00-20:00 New York"
        off_day = new_york_dates(known) != bars.loc[readable, "session"]
        if off_day.any():
            reason[off_day[off_day].index] = "dated off its session"
        off_grid = known != known.dt.floor("min")
        if off_grid.any():
            reason[off_grid[off_grid].index] = "time off the 1-minute grid"
    return reason


def _as_delivered(rows: pd.DataFrame) -> pd.Series:
    """The delivered text of each row: the feed's where it kept one, else the parsed values."""
    text = pd.Series(None, index=rows.index, dtype=object)
    if DELIVERED in rows:
        text = rows[DELIVERED].astype(object)
    missing = text.isna()
    if missing.any():
        built = rows.loc[missing, ["timestamp", *PRICE_COLUMNS, "volume"]].astype(object)
        built["timestamp"] = built["timestamp"].map(lambda t: None if pd.isna(t) else str(t))
        built_text = [delivered_text(r) for r in built.to_dict("records")]
        text = text.where(~missing, pd.Series(built_text, index=built.index, dtype=object))
    return text


def _joined(reasons: pd.DataFrame) -> pd.Series:
    """Each row's reasons in column order, "; " between them (vectorised: a bad delivery may be big)."""
    text = pd.Series("", index=reasons.index, dtype=object)
    for column in reasons:
        found = reasons[column].notna()
        text[found] = (
            text[found].where(text[found] == "", text[found] + "; ") + reasons[column][found]
        )
    return text


def split(delivery: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(bars, quarantined): the delivery's rows (with a `session` column) that are bars, with
    int64 volumes, and the rest as COLUMNS, one row per delivered row (its first problem's check,
    every problem in the reason)."""
    if delivery.empty:
        return delivery[[*BAR_COLUMNS, "session"]], pd.DataFrame(columns=COLUMNS)
    problems = [(TIMESTAMPS, _time_problems(delivery)), *_value_problems(delivery)]
    reasons = pd.DataFrame({f"{i}": reason for i, (_, reason) in enumerate(problems)})
    bad = reasons.notna().any(axis=1)
    if not bad.any():  # every row a bar (no selection to copy through)
        bars = delivery[[*BAR_COLUMNS, "session"]].astype({"volume": "int64"})
        return bars.reset_index(drop=True), pd.DataFrame(columns=COLUMNS)
    bars = delivery.loc[~bad, [*BAR_COLUMNS, "session"]].astype({"volume": "int64"})
    rows = delivery[bad]
    first = reasons[bad].notna().to_numpy().argmax(axis=1)
    quarantined = rows[["session", "symbol", "data_source", "timestamp"]].assign(
        **{
            DELIVERED: _as_delivered(rows),
            "check_name": [problems[i][0] for i in first],
            "reason": _joined(reasons[bad]),
        }
    )
    return bars.reset_index(drop=True), quarantined[COLUMNS].reset_index(drop=True)


def clash_rows(clashes: pd.DataFrame) -> pd.DataFrame:
    """Every version of the minutes a delivery held twice with different values, as COLUMNS."""
    if clashes.empty:
        return pd.DataFrame(columns=COLUMNS)
    return (
        clashes[["session", "symbol", "data_source", "timestamp"]]
        .assign(**{DELIVERED: _as_delivered(clashes), "check_name": TIMESTAMPS, "reason": CLASH})[
            COLUMNS
        ]
        .reset_index(drop=True)
    )


def refused_rows(delivery: pd.DataFrame, check_name: str, reason: str) -> pd.DataFrame:
    """A whole delivery of a session kept out of raw_bars (another feed's delivery landed in its
    place, or both failed the gate), as COLUMNS: its rows as delivered, the check it failed, why."""
    if delivery.empty:
        return pd.DataFrame(columns=COLUMNS)
    return (
        delivery[["session", "symbol", "data_source", "timestamp"]]
        .assign(**{DELIVERED: _as_delivered(delivery), "check_name": check_name, "reason": reason})[
            COLUMNS
        ]
        .reset_index(drop=True)
    )
