"""The database's floor under a backfill: `COPY` of the same rows into the two indexed tables the
pipeline writes (`raw_bars` and `dual_ticker_bars`, after the migrations, in a fresh database).
The CSV text is prepared in memory first; only each COPY and its commit are timed."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pandas as pd
import psycopg2

from dual_ticker.calendar.nyse import new_york_dates
from dual_ticker.features.indicators import compute_features
from dual_ticker.storage.contract_bars import COLUMNS as CONTRACT_COLUMNS
from dual_ticker.storage.raw_bars import COLUMNS as RAW_COLUMNS


def replay_bars(replay: Path) -> pd.DataFrame:
    frames = []
    for symbol in ("NVDA", "MSFT"):
        bars = pd.read_csv(replay / f"{symbol}.csv")
        bars["timestamp"] = (
            pd.to_datetime(bars["timestamp"])
            .dt.tz_localize("America/New_York")
            .dt.tz_convert("UTC")
        )
        frames.append(bars.assign(symbol=symbol, data_source="replay"))
    return pd.concat(frames, ignore_index=True)


def csv_texts(replay: Path) -> dict[str, str]:
    """Each table's rows as the CSV its COPY reads, in its column order."""
    bars = replay_bars(replay)
    raw = bars.assign(
        session=new_york_dates(bars["timestamp"]),
        fetched_at=pd.Timestamp("2020-01-01", tz="UTC"),
        run_id="floor",
        conflict=False,
        gate_status="passed",
        gate_run_id="floor",
        gate_reason=None,
    )[RAW_COLUMNS]
    featured = compute_features(bars.iloc[0:0], bars)[CONTRACT_COLUMNS]
    return {"raw_bars": _csv(raw), "dual_ticker_bars": _csv(featured)}


def _csv(frame: pd.DataFrame) -> str:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, header=False)
    return buffer.getvalue()


def copy_floor(url: str, replay: Path) -> dict:
    """Seconds of each table's COPY (with its commit) into the migrated, empty database at `url`."""
    texts = csv_texts(replay)
    seconds = {}
    connection = psycopg2.connect(url)
    try:
        for table, text in texts.items():
            columns = ", ".join(
                f'"{c}"' for c in (RAW_COLUMNS if table == "raw_bars" else CONTRACT_COLUMNS)
            )
            began = time.perf_counter()
            with connection.cursor() as cursor:
                cursor.copy_expert(
                    f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv)", io.StringIO(text)
                )
            connection.commit()
            seconds[table] = round(time.perf_counter() - began, 3)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT (SELECT count(*) FROM raw_bars), (SELECT count(*) FROM dual_ticker_bars)"
            )
            counts = cursor.fetchone()
    finally:
        connection.close()
    return {
        "rows": {"raw_bars": counts[0], "dual_ticker_bars": counts[1]},
        "tables": seconds,
        "seconds": round(sum(seconds.values()), 3),
    }
