"""One owner per table: a table's name appears in SQL only inside the module that owns it.

The test reads the package's source (ast), takes every string literal that reads as SQL (an
upper-case SELECT, INSERT, UPDATE, DELETE, FROM, JOIN, COPY or TRUNCATE; f-strings with their
placeholders) and fails for each table named outside its owner. Docstrings are prose, not SQL;
the migrations in sql/ and their runner are exempt.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "dual_ticker"

OWNERS = {
    "raw_bars": "dual_ticker/storage/raw_bars.py",
    "incoming_raw": "dual_ticker/storage/raw_bars.py",
    "quarantined_bars": "dual_ticker/storage/raw_bars.py",
    "dual_ticker_bars": "dual_ticker/storage/contract_bars.py",
    "staged_features": "dual_ticker/storage/contract_bars.py",
    "staged_sessions": "dual_ticker/storage/contract_bars.py",
    "gated_minutes": "dual_ticker/storage/raw_bars.py",
    "dual_ticker_bars_5m": "dual_ticker/storage/coarse_bars.py",
    "dual_ticker_bars_15m": "dual_ticker/storage/coarse_bars.py",
    "dual_ticker_bars_1h": "dual_ticker/storage/coarse_bars.py",
    "dual_ticker_bars_1d": "dual_ticker/storage/coarse_bars.py",
    "current_positions": "dual_ticker/storage/positions.py",
    "orders": "dual_ticker/oms/order_store.py",
    "order_events": "dual_ticker/oms/order_store.py",
    "fills": "dual_ticker/oms/order_store.py",
    "paper_orders": "dual_ticker/oms/paper_broker.py",
    "paper_executions": "dual_ticker/oms/paper_broker.py",
    "feed_requests": "dual_ticker/storage/feed_health.py",
    "feed_request_totals": "dual_ticker/storage/feed_health.py",
    "feed_latency_buckets": "dual_ticker/storage/feed_health.py",
    "feed_state": "dual_ticker/storage/feed_health.py",
    "bars_ingested_totals": "dual_ticker/storage/feed_health.py",
    "quality_failures": "dual_ticker/storage/quality_log.py",
    "quality_failure_totals": "dual_ticker/storage/quality_log.py",
    "alerts": "dual_ticker/storage/alert_log.py",
    "alert_episodes": "dual_ticker/storage/alert_log.py",
    # Dagster's own run storage, read by the sidecar when it shares the project's database.
    "runs": "dual_ticker/monitoring/dagster_runs.py",
    "daemon_heartbeats": "dual_ticker/monitoring/dagster_runs.py",
}
PENDING: set[str] = set()
EXEMPT = {"dual_ticker/storage/migrations.py"}
SQL = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|FROM|JOIN|COPY|TRUNCATE)\b")


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the Constant nodes that are docstrings (module, class, function)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(
            node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
        ) and ast.get_docstring(node, clean=False):
            found.add(id(node.body[0].value))
    return found


def sql_literals(source: str) -> list[tuple[int, str]]:
    """(line, text) of every string literal in `source` that reads as SQL."""
    tree = ast.parse(source)
    skipped = _docstrings(tree)
    literals = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            parts = [v.value if isinstance(v, ast.Constant) else "{}" for v in node.values]
            skipped.update(id(v) for v in node.values)
            literals.append((node.lineno, "".join(str(p) for p in parts)))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) not in skipped:
                literals.append((node.lineno, node.value))
    return [(line, text) for line, text in literals if SQL.search(text)]


def _sql_by_module() -> dict[str, list[tuple[int, str]]]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        module = path.relative_to(ROOT).as_posix()
        if module not in EXEMPT:
            found[module] = sql_literals(path.read_text())
    return found


SQL_BY_MODULE = _sql_by_module()


def strangers(table: str) -> list[str]:
    """`module:line` of every SQL literal naming `table` outside its owner."""
    name = re.compile(rf'(?<![\w."]){re.escape(table)}(?![\w"])|"{re.escape(table)}"')
    return [
        f"{module}:{line}"
        for module, literals in SQL_BY_MODULE.items()
        if module != OWNERS[table]
        for line, text in literals
        if name.search(text)
    ]


@pytest.mark.parametrize(
    "table",
    [
        pytest.param(
            table,
            marks=pytest.mark.xfail(strict=False, reason="bar tables: split pending")
            if table in PENDING
            else (),
        )
        for table in OWNERS
    ],
)
def test_only_its_owner_names_the_table_in_sql(table):
    assert strangers(table) == [], f"{table} is owned by {OWNERS[table]}"


def test_every_table_the_migrations_create_has_an_owner():
    created = set()
    for path in (ROOT / "sql").rglob("*.sql"):
        created |= set(
            re.findall(
                r"CREATE (?:TABLE|VIEW|MATERIALIZED VIEW)(?: IF NOT EXISTS)? (\w+)",
                path.read_text(),
            )
        )
    assert created - {"asset_frames"} <= set(OWNERS)


def test_the_scan_finds_sql_in_strings_and_f_strings_but_not_in_docstrings():
    source = '''
def f(cursor, table):
    """Reads FROM current_positions (prose)."""
    cursor.execute("SELECT qty FROM current_positions")
    cursor.execute(f"SELECT * FROM {table} JOIN fills USING (id)")
    label = "current_positions"
'''
    assert [line for line, _ in sql_literals(source)] == [4, 5]
