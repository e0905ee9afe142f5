"""A long range runs in chunks of sessions: the same rows as session by session, indicators across
chunk edges included; every chunk commits; progress is logged per chunk."""

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from dual_ticker.storage.migrations import apply_migrations
from dual_ticker_tests.support.databases import admin_url, fresh_database
from dual_ticker_tests.support.pipeline import (
    check_evaluations,
    contract_rows,
    materialize,
    recorded,
    scalar,
    write_replay,
)

WEEK = ("2020-11-30", "2020-12-04")
SESSIONS = ["2020-11-30", "2020-12-01", "2020-12-02", "2020-12-03", "2020-12-04"]


def _chunked(settings, size: int):
    return settings.model_copy(
        update={"data": settings.data.model_copy(update={"backfill_chunk_sessions": size})}
    )


def _comparable(url) -> pd.DataFrame:
    rows = contract_rows(url).drop(columns="created_at")
    return rows.sort_values(["symbol", "timestamp"]).reset_index(drop=True)


@pytest.mark.slow
def test_a_chunked_range_stores_what_session_by_session_runs_store(
    embedded_database, test_home, settings
):
    chunked = _chunked(settings, 2)  # chunk edges after 12-01 and 12-03
    instance = dg.DagsterInstance.ephemeral()
    result = materialize(embedded_database, chunked, WEEK, instance=instance)
    assert result.success
    with fresh_database(admin_url("embedded", test_home)) as single:
        apply_migrations(single)
        for session in SESSIONS:
            assert materialize(single, settings, session).success
        expected = _comparable(single)
    stored = _comparable(embedded_database)
    assert len(stored) == 5 * 780
    pd.testing.assert_frame_equal(
        stored.drop(columns=["rsi", "ema_short", "ema_long", "vwap"]),
        expected.drop(columns=["rsi", "ema_short", "ema_long", "vwap"]),
    )
    for column in ("rsi", "ema_short", "ema_long", "vwap"):
        np.testing.assert_allclose(
            stored[column].astype(float), expected[column].astype(float), atol=1e-9, rtol=0
        )
    # The first bar after each chunk edge has its indicators from the chunk before.
    edge = stored[stored["timestamp"] == pd.Timestamp("2020-12-02 14:30", tz="UTC")]
    assert edge[["rsi", "ema_short", "ema_long"]].notna().all().all()

    # Progress: one line per chunk and step, with sessions done, a rate and an ETA.
    lines = [entry.user_message for entry in instance.all_logs(result.run_id)]
    raw_progress = [line for line in lines if line.startswith("raw_bars: chunk")]
    assert len(raw_progress) == 3
    assert "chunk 1/3, 2/5 sessions" in raw_progress[0] and "ETA" in raw_progress[0]
    assert "chunk 3/3, 5/5 sessions" in raw_progress[2]
    for step in ("features", "dual_ticker_bars"):
        assert sum(line.startswith(f"{step}: chunk") for line in lines) == 3


@pytest.mark.slow
def test_a_failure_partway_keeps_the_committed_chunks_and_a_rerun_finishes(
    embedded_database, settings, tmp_path
):
    frames = {symbol: recorded(symbol) for symbol in ("NVDA", "MSFT")}
    msft = frames["MSFT"]
    bad = msft["timestamp"] == "2020-12-03 11:00:00"
    msft.loc[bad, "high"] = msft.loc[bad, "low"] - 1.0  # high < low in the third chunk's session
    chunked = _chunked(settings, 2)
    broken = write_replay(tmp_path / "broken", frames).as_posix()
    result = materialize(embedded_database, chunked, WEEK, replay_dir=broken)
    assert not result.success
    ohlc = check_evaluations(result)["check_raw_bars_ohlc"]
    assert not ohlc.passed and "2020-12-03" in ohlc.description
    # Every chunk committed its landed rows with each session's verdict, the later chunk too.
    verdicts = scalar(
        embedded_database,
        """SELECT string_agg(DISTINCT session::text || ' ' || gate_status, ', ')
           FROM raw_bars""",
    )
    assert verdicts == (
        "2020-11-30 passed, 2020-12-01 passed, 2020-12-02 passed, "
        "2020-12-03 rejected, 2020-12-04 passed"
    )
    assert scalar(embedded_database, "SELECT count(*) FROM dual_ticker_bars") == 0

    # The provider corrects the data: the same range again finishes everything.
    fixed = write_replay(tmp_path / "fixed", {s: recorded(s) for s in ("NVDA", "MSFT")})
    again = materialize(embedded_database, chunked, WEEK, replay_dir=fixed.as_posix())
    assert again.success
    assert scalar(embedded_database, "SELECT count(*) FROM dual_ticker_bars") == 5 * 780
