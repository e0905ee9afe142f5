"""The session partitions start at data.history_start (the code location passes the loaded value)."""

from datetime import date

from dual_ticker.orchestration.partitions import session_partitions


def test_the_partitions_start_at_the_configured_history_start():
    keys = session_partitions(date(2020, 11, 23)).get_partition_keys()
    assert keys[:5] == ["2020-11-23", "2020-11-24", "2020-11-25", "2020-11-27", "2020-11-30"]
