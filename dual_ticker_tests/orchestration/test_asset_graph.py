"""The whole chain on the replayed month: row counts, idempotency, and the gate blocking."""

import pandas as pd
import pytest

from dual_ticker_tests.support.pipeline import (
    check_evaluations,
    contract_rows,
    materialize,
    recorded,
    scalar,
    write_replay,
)

SESSION_ROWS = "SELECT count(*) FROM dual_ticker_bars WHERE (\"timestamp\" AT TIME ZONE 'America/New_York')::date = %s"


def test_session_writes_780_rows_and_rerun_leaves_the_table_identical(database_url, settings):
    first = materialize(database_url, settings, "2020-12-01")
    assert first.success
    before = contract_rows(database_url)
    assert len(before) == 780
    assert before.groupby("symbol").size().to_dict() == {"MSFT": 390, "NVDA": 390}
    local = before["timestamp"].dt.tz_convert("America/New_York")
    assert local.min().strftime("%H:%M") == "09:30" and local.max().strftime("%H:%M") == "15:59"

    again = materialize(database_url, settings, "2020-12-01")
    assert again.success
    after = contract_rows(database_url)
    assert len(after) == 780
    pd.testing.assert_frame_equal(before, after)  # created_at included: nothing was rewritten


def test_every_check_passes_on_a_clean_session(database_url, settings):
    result = materialize(database_url, settings, "2020-12-01")
    evaluations = check_evaluations(result)
    assert set(evaluations) >= {
        "check_raw_bars_ohlc",
        "check_raw_bars_missing_data",
        "check_features_indicator_bounds",
    }
    assert all(e.passed for e in evaluations.values()), {
        n: e.description for n, e in evaluations.items()
    }


def test_a_bar_with_high_below_low_blocks_at_the_check(database_url, settings, tmp_path):
    frames = {symbol: recorded(symbol) for symbol in ("NVDA", "MSFT")}
    msft = frames["MSFT"]
    bad = msft.index[msft["timestamp"] == "2020-12-02 11:00:00"][0]
    msft.loc[bad, ["high", "low"]] = [msft.loc[bad, "low"] - 0.5, msft.loc[bad, "high"] + 0.5]
    replay = write_replay(tmp_path / "corrupt", frames)
    assert materialize(database_url, settings, "2020-12-01", replay_dir=replay).success

    result = materialize(database_url, settings, "2020-12-02", replay_dir=replay)

    assert not result.success
    ohlc = check_evaluations(result)["check_raw_bars_ohlc"]
    assert not ohlc.passed and ohlc.severity.value == "ERROR"
    assert "1 bar(s) break OHLC rules" in ohlc.description
    failing = ohlc.metadata["failing_rows"].value
    assert failing.splitlines()[0].startswith("| symbol | timestamp |")  # a markdown table
    assert "| MSFT | 2020-12-02 16:00" in failing
    materialized = {e.asset_key.path[-1] for e in result.get_asset_materialization_events()}
    assert materialized == {"raw_bars"}  # the checked asset only; nothing downstream ran
    assert scalar(database_url, SESSION_ROWS, ("2020-12-02",)) == 0
    assert scalar(database_url, SESSION_ROWS, ("2020-12-01",)) == 780  # earlier passing rows stay
    assert (
        scalar(
            database_url,
            "SELECT count(*) FROM raw_bars WHERE session = '2020-12-02' AND gate_status = 'rejected'",
        )
        > 780
    )
    assert (
        scalar(
            database_url, "SELECT total FROM quality_failure_totals WHERE reason = 'ohlc_violation'"
        )
        == 1
    )

    # Once the provider delivers clean data, materializing the session again fetches it whole
    # (a rejected session counts as lacking) and it passes.
    fixed = materialize(database_url, settings, "2020-12-02")
    assert fixed.success
    assert scalar(database_url, SESSION_ROWS, ("2020-12-02",)) == 780
    assert (
        scalar(
            database_url,
            "SELECT count(*) FROM raw_bars WHERE session = '2020-12-02' AND gate_status <> 'passed'",
        )
        == 0
    )


def test_a_blocked_session_cannot_be_read_downstream_by_a_later_run(
    database_url, settings, tmp_path
):
    frames = {symbol: recorded(symbol) for symbol in ("NVDA", "MSFT")}
    frames["NVDA"].loc[frames["NVDA"]["timestamp"] == "2020-12-01 10:00:00", "open"] = -1.0
    replay = write_replay(tmp_path / "corrupt", frames)
    assert not materialize(database_url, settings, "2020-12-01", replay_dir=replay).success

    downstream_only = materialize(
        database_url,
        settings,
        "2020-12-01",
        replay_dir=replay,
        selection=["validated_bars", "features", "dual_ticker_bars"],
    )

    assert not downstream_only.success
    failure = next(e for e in downstream_only.all_events if e.event_type_value == "STEP_FAILURE")
    assert "has not passed the quality gate" in failure.event_specific_data.error.message
    assert scalar(database_url, "SELECT count(*) FROM dual_ticker_bars") == 0


def test_single_run_backfill_over_a_week_in_session_order(database_url, settings):
    result = materialize(database_url, settings, ("2020-11-23", "2020-11-27"))
    assert result.success
    rows = contract_rows(database_url)
    per_day = (
        rows.assign(day=rows["timestamp"].dt.tz_convert("America/New_York").dt.date)
        .groupby("day")
        .size()
    )
    # Thanksgiving (11-26) is no session; 11-27 closes at 13:00 (210 one-minute bars per symbol).
    assert {str(d): int(n) for d, n in per_day.items()} == {
        "2020-11-23": 780,
        "2020-11-24": 780,
        "2020-11-25": 780,
        "2020-11-27": 420,
    }
    # Indicators carry across sessions: the second session's first bar has its RSI and EMAs.
    second_open = rows[rows["timestamp"] == pd.Timestamp("2020-11-24 14:30", tz="UTC")]
    assert second_open[["rsi", "ema_short", "ema_long"]].notna().all().all()


def test_positions_asset_marks_the_paper_book_on_the_latest_close(database_url, settings):
    from dual_ticker.clock import FixedClock
    from dual_ticker.oms import OrderRequest, OrderService, RiskLimits, Side
    from dual_ticker.oms.paper_broker import PaperBroker

    assert materialize(database_url, settings, "2020-12-01").success
    clock = FixedClock(pd.Timestamp("2020-12-01 21:00", tz="UTC"))
    paper = PaperBroker(database_url, clock, slippage_bps=0.0, commission_per_share=0.0)
    service = OrderService(database_url, paper, clock, RiskLimits(1000, 1e9))
    service.submit(OrderRequest("pos-1", "NVDA", Side.BUY, 10))
    service.submit(OrderRequest("pos-2", "MSFT", Side.BUY, 4))
    fill = {
        s: float(p)
        for s, p in contract_rows(database_url).groupby("symbol")["close"].last().items()
    }

    early = materialize(
        database_url, settings, "2020-12-02", clock=clock
    )  # before the open: no bars yet
    assert early.success
    assert scalar(database_url, SESSION_ROWS, ("2020-12-02",)) == 0
    clock.at = pd.Timestamp("2020-12-03 12:00", tz="UTC")
    result = materialize(database_url, settings, "2020-12-02", clock=clock)

    assert result.success
    book = next(
        e for e in result.get_asset_materialization_events() if e.asset_key.path == ["positions"]
    )
    metadata = book.materialization.metadata
    assert metadata["broker"].value == "paper" and metadata["open_positions"].value == 2
    closes = contract_rows(database_url).groupby("symbol")["close"].last().astype(float)
    expected = 10 * closes["NVDA"] + 4 * closes["MSFT"]
    assert metadata["total_value"].value == pytest.approx(expected, abs=0.01)
    unrealized = 10 * (closes["NVDA"] - fill["NVDA"]) + 4 * (closes["MSFT"] - fill["MSFT"])
    assert metadata["total_unrealized_pnl"].value == pytest.approx(unrealized, abs=0.01)
    assert scalar(database_url, "SELECT qty FROM current_positions WHERE symbol = 'NVDA'") == 10


def _pickles(folder) -> list:
    """Files that start like a pickle (protocol 2+: 0x80, then the protocol byte)."""
    found = []
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as handle:
                head = handle.read(2)
            if len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
                found.append(path)
    return found


def test_no_frame_is_pickled_between_assets(embedded_database, settings, tmp_path):
    """With an instance on disk, any asset output would be pickled under its storage folder by
    Dagster's default IO manager; the assets hand nothing over but tables."""
    import dagster as dg

    (tmp_path / "instance").mkdir()
    with dg.DagsterInstance.local_temp(str(tmp_path / "instance")) as instance:
        result = materialize(embedded_database, settings, "2020-12-01", instance=instance)
        assert result.success
    assert not _pickles(tmp_path)
    assert scalar(embedded_database, "SELECT to_regclass('asset_frames') IS NULL")
    assert scalar(embedded_database, "SELECT count(*) FROM staged_features") == 0
    assert scalar(embedded_database, "SELECT count(*) FROM dual_ticker_bars") == 780


def test_assets_show_kinds_owners_and_the_standard_table_metadata(embedded_database, settings):
    from dual_ticker.definitions import defs

    graph = defs.resolve_asset_graph()
    nodes = {node.key.to_user_string(): node for node in graph.asset_nodes}
    assert {"postgres", "pandas"} <= set(nodes["raw_bars"].kinds)
    assert "postgres" in nodes["dual_ticker_bars"].kinds
    assert nodes["raw_bars"].owners == ["team:market-data"]

    result = materialize(embedded_database, settings, "2020-12-01")
    assert result.success
    by_asset = {
        event.asset_key.to_user_string(): event.materialization.metadata
        for event in result.get_asset_materialization_events()
    }
    contract = by_asset["dual_ticker_bars"]
    assert contract["dagster/table_name"].value == "dual_ticker_bars"
    assert contract["dagster/row_count"].value == 780
    columns = [c.name for c in contract["dagster/column_schema"].schema.columns]
    assert columns[:3] == ["timestamp", "symbol", "open"] and "minute_cos" in columns
    assert by_asset["raw_bars"]["dagster/table_name"].value == "raw_bars"
    assert by_asset["validated_bars"]["dagster/row_count"].value == 780
    assert by_asset["features"]["dagster/row_count"].value == 780
