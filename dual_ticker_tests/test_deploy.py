"""The production shape: dagster.yaml and workspace.yaml load against a PostgreSQL server; the
compose file validates against the compose specification (Debian's docker-compose)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
COMPOSE = ROOT / "deploy" / "docker-compose.yml"
SECRETS = {
    "POSTGRES_PASSWORD": "pw-CANARY-1",
    "ALPHAVANTAGE_API_KEY": "key-CANARY-2",
    "GRAFANA_ADMIN_PASSWORD": "gf-CANARY-3",
}


def _instance_env(tmp_path, database_url):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(ROOT / "dagster.yaml", home / "dagster.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "DUAL_TICKER_"))}
    return env | {
        "DAGSTER_HOME": str(home),
        "DUAL_TICKER_DATABASE_URL": database_url,
        "DUAL_TICKER_HOME": str(tmp_path / "state"),
    }


def test_dagster_yaml_loads_against_postgresql(database_url, tmp_path):
    env = _instance_env(tmp_path, database_url)
    info = subprocess.run(
        [str(BIN / "dagster"), "instance", "info"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert info.returncode == 0, info.stderr[-2000:]
    assert "run_storage: ProjectRunStorage" in info.stdout
    assert "event_log_storage: ProjectEventLogStorage" in info.stdout
    assert "schedule_storage: PostgresScheduleStorage" in info.stdout
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import dagster as dg; i = dg.DagsterInstance.get(); "
            "print(type(i.run_coordinator).__name__, type(i._run_storage._storage).__name__ if hasattr(i._run_storage, '_storage') else '')",
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    assert loaded.stdout.startswith("SyncInMemoryRunCoordinator")  # = DefaultRunCoordinator
    validate = subprocess.run(
        [str(BIN / "dagster"), "definitions", "validate", "-w", str(ROOT / "workspace.yaml")],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert validate.returncode == 0, validate.stderr[-2000:]
    # Dagster created its run storage in that server.
    import psycopg2

    connection = psycopg2.connect(database_url)
    with connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT to_regclass('runs') IS NOT NULL, to_regclass('event_logs') IS NOT NULL"
        )
        assert cursor.fetchone() == (True, True)
    connection.close()


def test_production_instance_settings():
    config = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    assert config["telemetry"]["enabled"] is False
    # Runs launch at once into warm workers; the minute lock keeps minute runs apart.
    assert config["run_coordinator"]["class"] == "DefaultRunCoordinator"
    assert config["run_launcher"]["class"] == "RunWorkerLauncher"
    assert config["run_monitoring"]["enabled"] is True
    assert config["run_retries"]["enabled"] is True
    assert config["storage"]["custom"]["class"] == "ProjectPostgresStorage"


def _compose(*args, env=None):
    if shutil.which("docker-compose") is None:
        pytest.skip("Debian's docker-compose is not installed (.ci/run installs it)")
    return subprocess.run(
        ["docker-compose", "-f", str(COMPOSE), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_compose_file_validates_with_secrets_from_the_environment():
    env = {k: v for k, v in os.environ.items() if k not in SECRETS} | SECRETS
    checked = _compose("config", env=env)
    assert checked.returncode == 0, checked.stderr
    services = yaml.safe_load(checked.stdout)["services"]
    assert set(services) == {
        "timescaledb",
        "code-server",
        "webserver",
        "daemon",
        "redis",
        "run-worker",
        "sidecar",
        "prometheus",
        "grafana",
    }
    assert all("healthcheck" in service for service in services.values())
    text = COMPOSE.read_text()
    assert not any(secret in text for secret in SECRETS.values())


def test_compose_refuses_to_start_without_its_secrets():
    env = {k: v for k, v in os.environ.items() if k not in SECRETS}
    checked = _compose("config", env=env)
    assert checked.returncode != 0
    assert "set POSTGRES_PASSWORD" in checked.stderr or "set ALPHAVANTAGE_API_KEY" in checked.stderr
