"""The documented commands, run as a user would: the dagster CLI materializes a session into
PostgreSQL (Dagster's own storage included), and `make run`'s launcher serves the UI."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psycopg2
import pytest

ROOT = Path(__file__).resolve().parents[2]
DAGSTER = str(Path(sys.executable).parent / "dagster")


def _count(url, query):
    connection = psycopg2.connect(url)
    with connection, connection.cursor() as cursor:
        cursor.execute(query)
        value = cursor.fetchone()[0]
    connection.close()
    return value


def _environment(tmp_path, database_url):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "DUAL_TICKER_"))}
    return env | {
        "DUAL_TICKER_HOME": str(tmp_path / "home"),
        "DUAL_TICKER_DATABASE_URL": database_url,
    }


def test_dagster_asset_materialize_writes_780_rows_twice_idempotently(embedded_database, tmp_path):
    env = _environment(tmp_path, embedded_database)
    command = [
        DAGSTER,
        "asset",
        "materialize",
        "-m",
        "dual_ticker.definitions",
        "--select",
        "*",
        "--partition",
        "2020-12-01",
    ]
    for _ in range(2):
        # From the checkout, without DAGSTER_HOME: the CLI reads ./dagster.yaml (PostgreSQL storage).
        done = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr[-3000:]
        assert "BetaWarning" not in done.stderr  # silenced where backfill_policy is used
        assert _count(embedded_database, "SELECT count(*) FROM dual_ticker_bars") == 780
    assert _count(embedded_database, "SELECT count(*) FROM runs WHERE status = 'SUCCESS'") == 2
    assert _count(embedded_database, "SELECT count(*) FROM asset_check_executions") >= 12
    # A minute exists as raw rows and contract rows only: no pickled frames, in a table or a file.
    assert _count(embedded_database, "SELECT to_regclass('asset_frames') IS NULL")
    assert _count(embedded_database, "SELECT count(*) FROM staged_features") == 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@pytest.mark.slow
def test_make_run_serves_the_ui_with_five_assets_and_checks_then_stops(embedded_database, tmp_path):
    port = _free_port()
    env = _environment(tmp_path, embedded_database) | {
        "DUAL_TICKER_SIDECAR_PORT": str(_free_port())
    }
    stack = subprocess.Popen(
        [sys.executable, "-m", "dual_ticker", "run", "--ui-port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline, nodes = time.monotonic() + 90, None
        while time.monotonic() < deadline and nodes is None:
            assert stack.poll() is None, stack.stdout.read()
            try:
                nodes = _graphql(
                    port,
                    "{ assetNodes { assetKey { path } assetChecksOrError { ... on AssetChecks { checks { name blocking } } } } }",
                )["data"]["assetNodes"]
            except OSError:
                time.sleep(1)
        assert nodes is not None, "the UI did not answer within 90 s"
        keys = {node["assetKey"]["path"][-1] for node in nodes}
        assert keys == {"raw_bars", "validated_bars", "features", "dual_ticker_bars", "positions"}
        checks = {
            c["name"]: c["blocking"]
            for n in nodes
            for c in n["assetChecksOrError"].get("checks", [])
        }
        assert checks["check_raw_bars_ohlc"] and checks["check_features_indicator_bounds"]
    finally:
        os.killpg(stack.pid, signal.SIGINT)
        output, _ = stack.communicate(timeout=60)
    assert stack.returncode == 0, output[-3000:]
    assert "Dagster UI:  http://127.0.0.1:" in output and "stopped" in output
    with pytest.raises(OSError):
        _graphql(port, "{ version }")
