"""A scrape reads running totals, single-row state and indexed "latest" rows: every query the
snapshot runs is planned without scanning a history table (its cost does not grow with history)."""

import json

import psycopg2
from psycopg2.extras import LoggingConnection

from dual_ticker.monitoring.snapshot import read_snapshot
from dual_ticker_tests.monitoring.conftest import missing_minutes_replay
from dual_ticker_tests.support.pipeline import materialize

HISTORY_TABLES = {
    "dual_ticker_bars",
    "raw_bars",
    "feed_requests",
    "quality_failures",
    "alerts",
    "runs",
    "event_logs",
    "asset_check_executions",
    "asset_frames",
}


class RecordingConnection(LoggingConnection):
    """psycopg2's logging connection, keeping each executed statement."""

    def filter(self, msg, curs):
        self.statements.append(msg.decode() if isinstance(msg, bytes) else msg)
        return None


def plan_nodes(plan: dict, limited: bool = False):
    """(node, whether a Limit above it bounds the rows it reads)."""
    yield plan, limited
    for child in plan.get("Plans", []):
        yield from plan_nodes(child, limited or plan["Node Type"] == "Limit")


def test_every_snapshot_query_is_an_index_lookup_or_a_totals_read(
    embedded_database, settings, dagster_instance, tmp_path
):
    materialize(
        embedded_database,
        settings,
        "2020-11-30",
        instance=dagster_instance,
        replay_dir=missing_minutes_replay(tmp_path / "gappy", minutes=40, session="2020-11-30"),
    )
    assert materialize(embedded_database, settings, "2020-12-01", instance=dagster_instance).success
    connection = psycopg2.connect(embedded_database, connection_factory=RecordingConnection)
    connection.statements = []
    connection.initialize(None)
    try:
        with connection:
            snapshot = read_snapshot(connection, ["NVDA", "MSFT"], "replay")
        assert snapshot.gate is not None and snapshot.last_success_epoch is not None
        selects = [s for s in connection.statements if s.lstrip().upper().startswith("SELECT")]
        assert len(selects) >= 10
        touched = set()
        with connection.cursor() as cursor:
            # On these small tables the planner may prefer a scan; forbid scans so the plans show
            # what the shape of each query allows (on a long history the index probes win anyway).
            cursor.execute("SET enable_seqscan = off; SET enable_bitmapscan = off")
            for statement in selects:
                cursor.execute(f"EXPLAIN (FORMAT JSON) {statement}")
                for node, limited in plan_nodes(cursor.fetchone()[0][0]["Plan"]):
                    table = node.get("Relation Name")
                    if node.get("Custom Plan Provider") == "ChunkAppend":
                        continue  # TimescaleDB's hypertable scan: its chunks' scans are below
                    if table and table.startswith("_hyper_"):  # a chunk of a hypertable
                        [table] = [t for t in ("raw_bars", "dual_ticker_bars") if t in statement]
                    if table in HISTORY_TABLES:
                        touched.add(table)
                        # An index probe, or the newest end of an index read under a LIMIT.
                        assert node["Node Type"] in ("Index Scan", "Index Only Scan"), (
                            statement,
                            json.dumps(node),
                        )
                        assert "Index Cond" in node or limited, (statement, json.dumps(node))
        assert touched >= {
            "dual_ticker_bars",
            "raw_bars",
            "feed_requests",
            "quality_failures",
            "runs",
        }
    finally:
        connection.close()
