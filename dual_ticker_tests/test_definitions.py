"""The code location loads with the fixed asset keys, blocking checks and NYSE session partitions."""

import os
import subprocess
import sys
from pathlib import Path

from dual_ticker.calendar.nyse import nyse
from dual_ticker.definitions import defs
from dual_ticker.orchestration.partitions import SESSIONS

ROOT = Path(__file__).resolve().parents[1]


def test_asset_keys_and_blocking_checks():
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert keys == {"raw_bars", "validated_bars", "features", "dual_ticker_bars", "positions"}
    checks = {(key.asset_key.to_user_string(), key.name) for key in graph.asset_check_keys}
    assert ("raw_bars", "check_raw_bars_ohlc") in checks
    assert ("raw_bars", "check_raw_bars_missing_data") in checks
    assert ("features", "check_features_indicator_bounds") in checks
    for key in graph.asset_check_keys:
        assert graph.get_check_spec(key).blocking, key
    upstream = {
        k.to_user_string(): {p.to_user_string() for p in graph.get(k).parent_keys}
        for k in graph.get_all_asset_keys()
    }
    assert upstream["validated_bars"] == {"raw_bars"}
    assert upstream["features"] == {"validated_bars"}
    assert upstream["dual_ticker_bars"] == {"features"}
    assert upstream["positions"] == {"dual_ticker_bars"}


def test_every_asset_has_a_one_line_description():
    for node in defs.resolve_asset_graph().asset_nodes:
        assert node.description and "\n" not in node.description.strip(), node.key


def test_partitions_are_exactly_the_nyse_sessions():
    keys = SESSIONS.get_partition_keys()
    assert keys[0] == "2000-01-03"
    sessions = nyse().sessions_in_range("2000-01-03", keys[-1])
    assert keys == [str(s.date()) for s in sessions]
    assert "2020-11-26" not in keys and "2020-11-27" in keys  # Thanksgiving, then an early close
    assert "2001-09-11" not in keys and "2020-11-28" not in keys


def test_dagster_validates_the_code_location(tmp_path):
    env = {**os.environ, "DUAL_TICKER_HOME": str(tmp_path / "home")}
    env.pop("DAGSTER_HOME", None)
    completed = subprocess.run(
        [
            str(Path(sys.executable).parent / "dagster"),
            "definitions",
            "validate",
            "-m",
            "dual_ticker.definitions",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert "All code locations passed validation" in completed.stderr + completed.stdout
