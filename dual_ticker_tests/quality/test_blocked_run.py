"""A blocked run through the real graph: nothing downstream written, raw rows marked, failure counted;
a WARN result lets the run through."""

import psycopg2

from dual_ticker_tests.support.pipeline import (
    check_evaluations,
    materialize,
    recorded,
    scalar,
    write_replay,
)


def _thinned(tmp_path, session, every, count):
    frames = {symbol: recorded(symbol) for symbol in ("NVDA", "MSFT")}
    msft = frames["MSFT"]
    regular = msft.index[msft["timestamp"].between(f"{session} 09:30:00", f"{session} 15:59:00")]
    frames["MSFT"] = msft.drop(regular[::every][:count])
    return write_replay(tmp_path / f"thin{count}", frames)


def test_missing_data_blocks_marks_raw_rows_and_counts_the_reason(database_url, settings, tmp_path):
    replay = _thinned(tmp_path, "2020-12-03", 16, 24)  # 6.2% of MSFT's minutes
    assert (
        scalar(
            database_url, "SELECT total FROM quality_failure_totals WHERE reason = 'missing_data'"
        )
        == 0
    )

    result = materialize(database_url, settings, "2020-12-03", replay_dir=replay)

    assert not result.success
    missing = check_evaluations(result)["check_raw_bars_missing_data"]
    assert not missing.passed and missing.severity.value == "ERROR"
    assert missing.metadata["missing_ratio"].value["MSFT"] > 0.05
    assert missing.metadata["fail_threshold"].value == 0.05
    assert scalar(database_url, "SELECT count(*) FROM dual_ticker_bars") == 0
    connection = psycopg2.connect(database_url)
    with connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT gate_status, gate_run_id, gate_reason FROM raw_bars WHERE session = '2020-12-03'"
        )
        marks = cursor.fetchall()
    connection.close()
    assert len(marks) == 1
    status, run_id, reason = marks[0]
    assert (
        status == "rejected"
        and run_id == result.run_id
        and reason.startswith("missing_data: MSFT missing 6.")
    )
    assert (
        scalar(
            database_url, "SELECT total FROM quality_failure_totals WHERE reason = 'missing_data'"
        )
        == 1
    )
    assert (
        scalar(
            database_url,
            "SELECT count(*) FROM quality_failures WHERE run_id = %s",
            (result.run_id,),
        )
        == 1
    )


def test_a_warn_result_never_blocks(database_url, settings, tmp_path):
    replay = _thinned(tmp_path, "2020-12-03", 30, 10)  # 2.6%: above warn, below fail
    result = materialize(database_url, settings, "2020-12-03", replay_dir=replay)
    assert result.success
    missing = check_evaluations(result)["check_raw_bars_missing_data"]
    assert not missing.passed and missing.severity.value == "WARN"
    assert (
        scalar(database_url, "SELECT count(*) FROM dual_ticker_bars WHERE symbol = 'MSFT'") == 380
    )
    assert (
        scalar(
            database_url, "SELECT total FROM quality_failure_totals WHERE reason = 'missing_data'"
        )
        == 0
    )
    assert (
        scalar(database_url, "SELECT count(*) FROM quality_failures WHERE severity = 'WARN'") == 1
    )
