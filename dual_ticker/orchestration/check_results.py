"""Gate reports and tables as Dagster sees them: check results and standard metadata."""

from __future__ import annotations

import dagster as dg
import pandas as pd

from dual_ticker.quality.gate import GateReport
from dual_ticker.quality.rules import Outcome


def _markdown(rows: list[dict]) -> str:
    frame = pd.DataFrame(rows)
    header = "| " + " | ".join(frame.columns) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    lines = ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *lines])


def check_result(outcome: Outcome) -> dg.AssetCheckResult:
    metadata = {}
    for key, value in outcome.metadata.items():
        if value is None:
            continue
        if key == "failing_rows" and isinstance(value, list):
            if value:
                metadata["failing_rows"] = dg.MetadataValue.md(_markdown(value))
        elif isinstance(value, (dict, list)):
            metadata[key] = dg.MetadataValue.json(value)
        else:
            metadata[key] = value
    return dg.AssetCheckResult(
        check_name=outcome.check_name,
        passed=outcome.passed,
        severity=dg.AssetCheckSeverity(outcome.severity),
        description=outcome.description,
        metadata={"reason": outcome.reason, **metadata},
    )


def check_results(report: GateReport) -> list[dg.AssetCheckResult]:
    """One result per check over the run's sessions (the worst session speaks for the check)."""
    return [check_result(outcome) for outcome in report.outcomes()]


def table_metadata(table: str, schema: list[tuple[str, str]], rows: int) -> dict:
    """Dagster's standard keys: the table, its columns and the rows the step wrote or holds."""
    return {
        "dagster/table_name": table,
        "dagster/column_schema": dg.TableSchema(
            columns=[dg.TableColumn(name, kind) for name, kind in schema]
        ),
        "dagster/row_count": rows,
    }
