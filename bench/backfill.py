"""Benchmark 2: a year of one-minute bars for both symbols through the gate, features and the
upsert (the functions the assets call), beside a naive baseline: row-wise validation and
pandas.to_sql. Also the same year as one Dagster single-run backfill, for its overhead."""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

import pandas as pd

from bench.year_data import YEAR
from dual_ticker.calendar.nyse import session_close, sessions_between
from dual_ticker.calendar.windows import session_window
from dual_ticker.features.indicators import compute_features
from dual_ticker.feeds.replay import ReplayFeed
from dual_ticker.pipeline import steps
from dual_ticker.settings import load_settings
from dual_ticker.storage.database import transaction


def pipeline(url: str, replay: Path, settings) -> dict:
    """The data path of a single-run backfill, stage by stage."""
    sessions = sessions_between(*YEAR)
    windows = {str(day.date()): session_window(day, session_close(day)) for day in sessions}
    stages, began = {}, time.perf_counter()

    def mark(name):
        nonlocal began
        now = time.perf_counter()
        stages[name] = round(now - began, 3)
        began = now

    def connections():
        return transaction(url)

    delivery = steps.fetch_missing(
        connections, windows, settings.data.symbols, [ReplayFeed(replay)], "bench"
    )
    mark("fetch")
    with transaction(url) as connection:
        _, report = steps.land_and_gate(
            connection,
            delivery,
            windows,
            settings,
            ["replay"],
            "bench",
            pd.Timestamp("2020-01-01", tz="UTC"),
            False,
        )
    assert not report.blocked
    mark("land_and_gate")
    with transaction(url) as connection:
        featured, report = steps.stage_features(connection, windows, settings, ["replay"], "bench")
    assert not report.blocked
    mark("validated_features_staged")
    with transaction(url) as connection:
        steps.publish(connection, windows, settings.data.symbols)
    mark("publish")
    return {"rows": len(featured), "stages": stages, "seconds": round(sum(stages.values()), 3)}


def naive(url: str, replay: Path) -> dict:
    """The baseline: read, validate row by row in Python, same features, pandas.to_sql."""
    from sqlalchemy import create_engine

    from dual_ticker.storage.database import dagster_url

    began = time.perf_counter()
    frames = []
    for symbol in ("NVDA", "MSFT"):
        bars = pd.read_csv(replay / f"{symbol}.csv")
        good = []
        for _, row in bars.iterrows():  # row-wise validation, as a script would write it
            good.append(
                row["low"] <= min(row["open"], row["close"])
                and row["high"] >= max(row["open"], row["close"])
                and row["low"] > 0
                and row["volume"] >= 0
            )
        bars = bars[good]
        bars["timestamp"] = (
            pd.to_datetime(bars["timestamp"])
            .dt.tz_localize("America/New_York")
            .dt.tz_convert("UTC")
        )
        frames.append(bars.assign(symbol=symbol, data_source="replay"))
    bars = pd.concat(frames, ignore_index=True)
    featured = compute_features(bars.iloc[0:0], bars).drop(columns=["bars_before"])
    engine = create_engine(dagster_url(url))
    featured.to_sql("naive_bars", engine, if_exists="replace", index=False)
    engine.dispose()
    return {"rows": len(featured), "seconds": round(time.perf_counter() - began, 3)}


def main(kind: str, url: str, replay: str) -> None:
    settings = load_settings({"DUAL_TICKER_HOME": "/tmp/unused"})
    result = (
        pipeline(url, Path(replay), settings) if kind == "pipeline" else naive(url, Path(replay))
    )
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main(*sys.argv[1:4])
