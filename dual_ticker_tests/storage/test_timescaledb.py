"""On a real TimescaleDB (the embedded PostgreSQL with `make timescaledb`): the schema and its
policies, a server that has the package but does not preload it, configured retention, and,
through the real `dagster asset materialize` CLI, history that every TimescaleDB job leaves whole,
compressed history re-backfilled and revised, aggregates that hold all of it, and rows that vanish
between steps failing the run."""

import logging
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from bench.year_data import year_bars
from dual_ticker.calendar.nyse import sessions_between
from dual_ticker.calendar.windows import session_window
from dual_ticker.pipeline import steps
from dual_ticker.settings import load_settings
from dual_ticker.storage import embedded, timescale
from dual_ticker.storage.database import connect, transaction
from dual_ticker.storage.migrations import (
    NOT_PRELOADED,
    SQL_DIR,
    TIMESCALEDB_DIR,
    MigrationError,
    apply_migrations,
    migration_files,
    timescaledb_enabled,
    timescaledb_statements,
)
from dual_ticker_tests.conftest import require_timescaledb
from dual_ticker_tests.storage.test_coarse_bars import assert_materialized_levels_match
from dual_ticker_tests.support.databases import autocommit
from dual_ticker_tests.support.pipeline import write_replay

ROOT = Path(__file__).resolve().parents[2]
DAGSTER = str(Path(sys.executable).parent / "dagster")
FIRST, LAST = "2019-01-02", "2019-03-05"  # 43 sessions, older than 730 days, three chunks
SESSIONS = [day.strftime("%Y-%m-%d") for day in sessions_between(FIRST, LAST)]
ASSETS = "raw_bars,validated_bars,features,dual_ticker_bars"
CONTRACT = 'SELECT * FROM dual_ticker_bars ORDER BY symbol, "timestamp"'
RAW = 'SELECT * FROM raw_bars ORDER BY symbol, "timestamp", data_source'


def _rows(url: str, query: str, params=()) -> list[tuple]:
    connection = connect(url)
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute(query, params)
            return cursor.fetchall() if cursor.description else []
    finally:
        connection.close()


def test_the_schema_is_hypertables_compression_and_real_time_aggregates_without_retention(
    timescale_database,
):
    url = timescale_database
    tables = _rows(url, "SELECT hypertable_name FROM timescaledb_information.hypertables")
    assert {"raw_bars", "dual_ticker_bars"} <= {t for (t,) in tables}
    jobs = {(j.proc_name, j.hypertable) for j in _jobs(url)}
    assert jobs == {
        ("policy_compression", "raw_bars"),
        ("policy_compression", "dual_ticker_bars"),
    }  # no retention policy: nothing landed is ever dropped by default
    aggregates = _rows(
        url,
        """SELECT view_name, materialized_only FROM timescaledb_information.continuous_aggregates
           ORDER BY view_name""",
    )
    assert aggregates == [
        ("dual_ticker_bars_15m", False),
        ("dual_ticker_bars_1d", False),
        ("dual_ticker_bars_1h", False),
        ("dual_ticker_bars_5m", False),
    ]


def _jobs(url):
    connection = connect(url)
    try:
        return timescale.jobs(connection)
    finally:
        connection.close()


def test_each_timescaledb_file_can_run_again_by_hand(timescale_database):
    for path in migration_files(SQL_DIR / TIMESCALEDB_DIR):
        autocommit(timescale_database, *timescaledb_statements(path))
    assert apply_migrations(timescale_database) == []
    assert len(_jobs(timescale_database)) == 2


def test_configured_retention_judges_chunks_by_when_they_were_written(timescale_database):
    connection = connect(timescale_database)
    try:
        with connection:
            assert timescale.apply_retention(connection, 30) == "30 days"
        [job] = [j for j in timescale.jobs(connection) if j.proc_name == "policy_retention"]
        [(config,)] = _rows(
            timescale_database,
            "SELECT config FROM timescaledb_information.jobs WHERE job_id = %s",
            (job.job_id,),
        )
        assert config["drop_created_before"] == "30 days" and "drop_after" not in config
        assert job.hypertable == "raw_bars"  # dual_ticker_bars is never dropped
        with connection:
            timescale.apply_retention(connection, 30)  # the same setting again: the same job
        assert [
            j.job_id for j in timescale.jobs(connection) if j.proc_name == "policy_retention"
        ] == [job.job_id]
        with connection:
            assert timescale.apply_retention(connection, None) is None
        assert not [j for j in timescale.jobs(connection) if j.proc_name == "policy_retention"]
    finally:
        connection.close()


def test_installed_but_not_preloaded_runs_plain_with_a_warning(own_server_home, caplog):
    require_timescaledb()
    url = embedded.start(own_server_home, timescaledb=False)  # the package there, not preloaded
    with caplog.at_level(logging.WARNING, logger="dual_ticker.storage.migrations"):
        applied = apply_migrations(url)
    assert not any(name.startswith(TIMESCALEDB_DIR) for name in applied)
    assert not timescaledb_enabled(url)
    [warning] = [r.getMessage() for r in caplog.records if "TimescaleDB" in r.getMessage()]
    assert "shared_preload_libraries" in warning and "\n" not in warning
    assert _rows(url, "SELECT count(*) FROM raw_bars") == [(0,)]  # the connection lives


def test_a_timescaledb_database_on_a_server_that_stopped_preloading_fails_in_one_line(
    own_server_home,
):
    require_timescaledb()
    url = embedded.start(own_server_home)
    apply_migrations(url)
    assert timescaledb_enabled(url)
    autocommit(url, "ALTER SYSTEM RESET shared_preload_libraries")
    embedded.stop(own_server_home)
    url = embedded.start(own_server_home, timescaledb=False)
    with pytest.raises(MigrationError) as refused:
        apply_migrations(url)
    assert str(refused.value).startswith(NOT_PRELOADED) and "\n" not in str(refused.value)


def _materialize(url: str, replay: Path, home: Path, select: str, first=FIRST, last=LAST):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "DUAL_TICKER_"))}
    env |= {
        "DUAL_TICKER_HOME": str(home),
        "DUAL_TICKER_DATABASE_URL": url,
        "DUAL_TICKER_REPLAY_DIR": str(replay),
    }
    command = [DAGSTER, "asset", "materialize", "-m", "dual_ticker.definitions", "--select"]
    command += [select, "--partition-range", f"{first}...{last}"]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def _run_every_job(url: str) -> None:
    autocommit(url, *(f"CALL run_job({job.job_id})" for job in _jobs(url)))


@pytest.fixture
def backfilled(timescale_database, tmp_path):
    """43 sessions of 2019 backfilled through the CLI, with retention configured at a day (far
    shorter than the history's age) and every TimescaleDB job run once after."""
    bars = year_bars(first=FIRST, last=LAST)
    replay = write_replay(tmp_path / "replay", bars)
    done = _materialize(timescale_database, replay, tmp_path / "home", ASSETS)
    assert done.returncode == 0, done.stderr[-3000:]
    with transaction(timescale_database) as connection:
        timescale.apply_retention(connection, 1)
    _run_every_job(timescale_database)
    return timescale_database, replay, tmp_path / "home", bars


@pytest.mark.slow
def test_history_survives_every_job_rebackfills_revisions_and_vanishing_rows(backfilled):
    """One backfilled history, in order (each part changes it for the next): every job run keeps
    every row; a re-backfill over compressed chunks changes nothing; a revised minute inside a
    compressed chunk lands; rows dropped between steps fail the CLI run naming the session."""
    _every_row_after_every_job(*backfilled)
    _rebackfill_and_revision(*backfilled)
    _rows_dropped_between_steps(*backfilled)


def _every_row_after_every_job(url, replay, home, bars):
    """(Checked against the old 0003 policy, drop_after => 730 days: the run then loses every
    raw row.)"""
    delivered = sum(len(frame) for frame in bars.values())
    assert _rows(url, "SELECT count(*) FROM raw_bars") == [(delivered,)]
    assert _rows(url, "SELECT count(*) FROM dual_ticker_bars") == [(delivered,)]
    compressed = _rows(
        url, "SELECT count(*) FROM timescaledb_information.chunks WHERE is_compressed"
    )
    assert compressed[0][0] > 0  # the compression jobs ran on the settled history
    assert_materialized_levels_match(url)


def _rebackfill_and_revision(url, replay, home, bars):
    """(Checked against the landing and publishing without allow_decompression: the re-backfill
    fails with "tuple decompression limit exceeded".)"""
    # Far below TimescaleDB's default of 100,000: the run's own transactions lift it on purpose.
    database = url.split("?")[0].rsplit("/", 1)[1]
    autocommit(
        url,
        f'ALTER DATABASE "{database}" SET '
        "timescaledb.max_tuples_decompressed_per_dml_transaction = 1000",
    )
    contract, raw = _rows(url, CONTRACT), _rows(url, RAW)
    again = _materialize(url, replay, home, ASSETS, "2019-01-14", "2019-02-08")
    assert again.returncode == 0, again.stderr[-3000:]
    _assert_same_contract(_rows(url, CONTRACT), contract)
    assert _rows(url, RAW) == raw

    minute = pd.Timestamp("2019-01-15 15:00", tz="UTC")
    [(close, high, low)] = _rows(
        url,
        """SELECT close, high, low FROM raw_bars WHERE symbol = 'NVDA' AND "timestamp" = %s""",
        (minute.to_pydatetime(),),
    )
    assert _chunk_compressed(url, minute)
    revised_close = float(low + (high - low) / 2)
    _land_revision(url, minute, revised_close)
    downstream = _materialize(
        url, replay, home, "features,dual_ticker_bars", "2019-01-15", "2019-01-15"
    )
    assert downstream.returncode == 0, downstream.stderr[-3000:]
    [(stored,)] = _rows(
        url,
        """SELECT close FROM dual_ticker_bars WHERE symbol = 'NVDA' AND "timestamp" = %s""",
        (minute.to_pydatetime(),),
    )
    assert float(stored) == pytest.approx(revised_close, abs=1e-4) and stored != close


def _assert_same_contract(now: list[tuple], before: list[tuple]) -> None:
    """The same rows: keys, prices, volume and source exactly, the indicators to 1e-9 (a sub-range
    warms up on its 400 stored bars, not on all history: EMA and RSI then differ near 1e-13)."""
    assert len(now) == len(before)
    columns = pd.DataFrame(now).drop(columns=[16]), pd.DataFrame(before).drop(columns=[16])
    exact = [0, 1, 2, 3, 4, 5, 6, 15]
    pd.testing.assert_frame_equal(columns[0][exact], columns[1][exact])
    pd.testing.assert_frame_equal(
        columns[0].drop(columns=exact).astype(float),
        columns[1].drop(columns=exact).astype(float),
        rtol=0,
        atol=1e-9,
    )


def _chunk_compressed(url: str, moment: pd.Timestamp) -> bool:
    [(compressed,)] = _rows(
        url,
        """SELECT is_compressed FROM timescaledb_information.chunks
           WHERE hypertable_name = 'raw_bars' AND range_start <= %s AND range_end > %s""",
        (moment.to_pydatetime(), moment.to_pydatetime()),
    )
    return compressed


def _land_revision(url: str, minute: pd.Timestamp, close: float) -> None:
    """The provider revises one settled minute: the landing users' runs take."""
    settings = load_settings({"DUAL_TICKER_HOME": str(ROOT / ".unused")})
    session = "2019-01-15"
    window = session_window(pd.Timestamp(session), pd.Timestamp("2019-01-15 21:00", tz="UTC"))
    [row] = _rows(
        url,
        """SELECT open, high, low, volume FROM raw_bars
           WHERE symbol = 'NVDA' AND "timestamp" = %s""",
        (minute.to_pydatetime(),),
    )
    delivery = pd.DataFrame(
        {
            "symbol": ["NVDA"],
            "timestamp": [minute],
            "open": [float(row[0])],
            "high": [float(row[1])],
            "low": [float(row[2])],
            "close": [close],
            "volume": [int(row[3]) + 1],
            "data_source": ["replay"],
            "session": [session],
        }
    )
    with transaction(url) as connection:
        _, report = steps.land_and_gate(
            connection,
            delivery,
            {session: window},
            settings,
            ["replay"],
            "revision",
            pd.Timestamp.now(tz="UTC"),
            False,
        )
    assert not report.blocked


def _rows_dropped_between_steps(url, replay, home, bars):
    autocommit(
        url,
        """DELETE FROM raw_bars WHERE session = '2019-02-04' AND symbol = 'MSFT'
           AND "timestamp" >= '2019-02-04 15:00+00' AND "timestamp" < '2019-02-04 15:30+00'""",
    )
    failed = _materialize(
        url, replay, home, "features,dual_ticker_bars", "2019-02-01", "2019-02-05"
    )
    assert failed.returncode != 0
    assert "session 2019-02-04: 30 of the 390 MSFT minutes the gate passed" in failed.stderr
