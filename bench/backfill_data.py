"""The year through the data functions alone, as a child process: the steps the assets call, in
the same chunks and order, without Dagster (`pipeline`), and the naive pandas script (`naive`).

    python -m bench.backfill_data pipeline|naive|recordings URL REPLAY_DIR [FIRST LAST]

Prints one JSON line: rows, seconds (the work, after imports), stages, peak_rss_mb
(`recordings`: how much the replay feed adds to RSS over a range run of REPLAY_DIR)."""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

import pandas as pd

from bench.year_data import YEAR
from dual_ticker.calendar.windows import run_windows, session_keys
from dual_ticker.clock import SYSTEM_CLOCK
from dual_ticker.features.indicators import compute_features
from dual_ticker.feeds.replay import ReplayFeed
from dual_ticker.pipeline import steps
from dual_ticker.pipeline.chunks import in_chunks, in_chunks_ahead, written_behind
from dual_ticker.settings import load_settings
from dual_ticker.storage import raw_bars
from dual_ticker.storage.database import transaction


def pipeline(url: str, replay: Path, settings, first: str = YEAR[0], last: str = YEAR[1]) -> dict:
    """What the four assets of a range run do, step by step and chunk by chunk, in one process."""
    windows = run_windows(
        session_keys(first, last), SYSTEM_CLOCK.now(), None, settings.data.bar_size, None
    )
    symbols, size, order = settings.data.symbols, settings.data.backfill_chunk_sessions, ["replay"]
    stages, rows, began = {"fetch": 0.0, "land_and_gate": 0.0}, 0, time.perf_counter()

    def connections():
        return transaction(url)

    feed = ReplayFeed(replay)

    def fetch(chunk):
        return steps.fetch_missing(connections, chunk, symbols, [feed], "bench")

    # As the assets do: the next chunk is fetched (its validated bars read) in the background
    # while this one is landed (featured); "fetch" times the waits for the deliveries.
    fetch_began = time.perf_counter()
    for chunk, delivery in in_chunks_ahead(windows, size, "raw_bars", fetch):
        stages["fetch"] += time.perf_counter() - fetch_began
        gate_began = time.perf_counter()
        with transaction(url) as connection:
            _, report = steps.land_and_gate(
                connection, delivery, chunk, settings, order, "bench", SYSTEM_CLOCK.now(), False
            )
        assert not report.blocked, report
        stages["land_and_gate"] += time.perf_counter() - gate_began
        fetch_began = time.perf_counter()
    began = _mark(stages, "raw_bars_total", began)
    with transaction(url) as connection:
        steps.require_passed(connection, windows, symbols)
        raw_bars.regular_counts(connection, windows, symbols)
    began = _mark(stages, "validated", began)
    history = None

    def read(chunk):
        with transaction(url) as connection:
            return steps.validated(connection, chunk, settings, order)

    def keep(chunk, featured, report):
        with transaction(url) as connection:
            steps.keep_features(connection, featured, report, chunk, "bench")

    with written_behind() as submit:
        for chunk, bars in in_chunks_ahead(windows, size, "features", read):
            if history is None:
                with transaction(url) as connection:
                    history = steps.warmup_history(connection, settings, bars)
            featured, report, history = steps.featured_and_gated(chunk, settings, history, bars)
            assert not report.blocked, report
            submit(keep, chunk, featured, report)
            rows += len(featured)
    began = _mark(stages, "features", began)

    def publish(chunk):
        with transaction(url) as connection:
            return steps.publish(connection, chunk, symbols, settings.data.bar_size)

    for _ in in_chunks_ahead(windows, size, "dual_ticker_bars", publish, ahead=2):
        pass
    _mark(stages, "publish", began)
    stages.pop("raw_bars_total")
    stages = {name: round(seconds, 3) for name, seconds in stages.items()}
    return {"rows": rows, "stages": stages, "seconds": round(sum(stages.values()), 3)}


def _mark(stages: dict, name: str, began: float) -> float:
    now = time.perf_counter()
    stages[name] = now - began
    return now


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


def recordings(replay: Path, first: str = YEAR[0], last: str = YEAR[1]) -> dict:
    """What the replay feed holds over a range run: the RSS growth of walking its requests (a
    month per symbol at a time, in order, as raw_bars does) through the recording."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    feed = ReplayFeed(replay)
    windows = run_windows(session_keys(first, last), SYSTEM_CLOCK.now(), None, 1, None)
    rows = 0
    for chunk in in_chunks(windows, 21, "raw_bars"):
        window = list(chunk.values())
        start, end = window[0].opened.normalize(), window[-1].closed
        rows += sum(len(feed.fetch_intraday(s, start, end, end)) for s in ("NVDA", "MSFT"))
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before
    return {"rows": rows, "rss_growth_mb": round(grown, 1)}


def main(kind: str, url: str, replay: str, *span: str) -> None:
    settings = load_settings({"DUAL_TICKER_HOME": "/tmp/unused"})
    if kind == "recordings":
        result = recordings(Path(replay), *span)
    elif kind == "pipeline":
        result = pipeline(url, Path(replay), settings, *span)
    else:
        result = naive(url, Path(replay))
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main(*sys.argv[1:])
