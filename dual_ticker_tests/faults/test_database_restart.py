"""The database goes away during scheduled minutes: those runs fail visibly with a clear error;
once it is back, the next tick catches up every missed minute and nothing is lost."""

import pandas as pd

from dual_ticker.storage import embedded
from dual_ticker.storage.migrations import apply_migrations
from dual_ticker_tests.support.databases import admin_url, fresh_database
from dual_ticker_tests.support.pipeline import contract_rows, materialize


def _tick(minute: str) -> str:
    return pd.Timestamp(f"2020-12-11 {minute}", tz="America/New_York").isoformat()


def test_runs_fail_while_the_database_is_down_then_catch_up(own_server_home, settings, test_home):
    home = own_server_home  # a server of its own: this test stops it
    admin = admin_url("embedded", home)
    try:
        with fresh_database(admin) as url:
            apply_migrations(url)
            for minute in ("09:31", "09:32", "09:33", "09:34", "09:35"):
                assert materialize(url, settings, "2020-12-11", as_of=_tick(minute)).success

            embedded.stop(home)
            for minute in ("09:36", "09:37", "09:38"):
                result = materialize(url, settings, "2020-12-11", as_of=_tick(minute))
                assert not result.success
                failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
                error = failure.event_specific_data.error
                message = error.cause.message if error.cause else error.message
                assert "database unreachable" in message and "make db-start" in message

            embedded.start(home)
            assert materialize(url, settings, "2020-12-11", as_of=_tick("09:45")).success
            rows = contract_rows(url)
            assert rows.groupby("symbol").size().to_dict() == {
                "MSFT": 15,
                "NVDA": 15,
            }  # 09:30 .. 09:44
            starts = rows[rows["symbol"] == "NVDA"]["timestamp"].dt.tz_convert("America/New_York")
            assert list(starts.dt.strftime("%H:%M")) == [f"09:{m}" for m in range(30, 45)]
    finally:
        embedded.stop(home)
