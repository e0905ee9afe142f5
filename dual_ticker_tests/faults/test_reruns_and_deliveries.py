"""Idempotency under repetition: re-runs, repeated and reordered deliveries change nothing."""

import pandas as pd

from dual_ticker_tests.support.pipeline import (
    contract_rows,
    materialize,
    recorded,
    scalar,
    write_replay,
)


def test_a_partition_rerun_ten_times_leaves_the_table_identical(embedded_database, settings):
    assert materialize(embedded_database, settings, "2020-12-07").success
    first = contract_rows(embedded_database)
    raw_first = scalar(embedded_database, "SELECT count(*) FROM raw_bars")
    for _ in range(10):
        assert materialize(embedded_database, settings, "2020-12-07").success
    pd.testing.assert_frame_equal(first, contract_rows(embedded_database))  # created_at included
    assert scalar(embedded_database, "SELECT count(*) FROM raw_bars") == raw_first


def test_duplicate_and_out_of_order_deliveries_change_nothing(
    embedded_database, settings, tmp_path
):
    assert materialize(embedded_database, settings, "2020-12-08").success
    clean = contract_rows(embedded_database).drop(columns="created_at")

    frames = {}
    for number, symbol in enumerate(("NVDA", "MSFT")):
        bars = recorded(symbol)
        repeated = pd.concat([bars, bars.sample(frac=0.3, random_state=number)])  # exact repeats
        frames[symbol] = repeated.sample(frac=1.0, random_state=7 + number)  # any order
    messy = write_replay(tmp_path / "messy", frames)
    # Re-deliver the whole session (nothing is missing, so force it as a fresh database would).
    scalar(
        embedded_database,
        "WITH gone AS (DELETE FROM raw_bars WHERE session = '2020-12-08' RETURNING 1) "
        "SELECT count(*) FROM gone",
    )
    assert scalar(embedded_database, "SELECT count(*) FROM raw_bars") == 0
    result = materialize(embedded_database, settings, "2020-12-08", replay_dir=messy)
    assert result.success
    landed = next(
        e for e in result.get_asset_materialization_events() if e.asset_key.path == ["raw_bars"]
    )
    assert landed.materialization.metadata["dagster/row_count"].value > 780

    pd.testing.assert_frame_equal(
        clean, contract_rows(embedded_database).drop(columns="created_at")
    )
    assert (
        scalar(
            embedded_database,
            "SELECT count(*) FROM (SELECT 1 FROM raw_bars GROUP BY symbol, timestamp, data_source HAVING count(*) > 1) d",
        )
        == 0
    )
