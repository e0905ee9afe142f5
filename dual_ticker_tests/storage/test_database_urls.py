"""DUAL_TICKER_DATABASE_URL in each accepted form reaches the same database through the real entry
points (position tracker, sidecar, dagster CLI, Dagster's storage), on the embedded server and the
machine's PostgreSQL; any other value stops at settings load in one line that hides the password."""

import os
import subprocess
import sys
import time

import httpx
import psycopg2
import psycopg2.extensions
import pytest
from dagster_postgres import DagsterPostgresStorage

from dual_ticker.settings import PROJECT_ROOT
from dual_ticker.storage.database import dagster_url
from dual_ticker_tests.support.prometheus import free_port

FORMS = ["postgresql", "postgres", "postgresql+psycopg2", "postgresql+psycopg", "words"]
PASSWORD = "s3cret w/ @:"  # ignored by trust auth; exercises quoting, must never be shown


def written_as(url: str, form: str) -> str:
    """The fixture's postgresql:// URL as a user might write it."""
    if form == "words":
        words = psycopg2.extensions.parse_dsn(url)
        return psycopg2.extensions.make_dsn(**words, password=PASSWORD)
    return f"{form}://" + url.removeprefix("postgresql://")


def environment(home, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "DUAL_TICKER_"))}
    return env | {"DUAL_TICKER_HOME": str(home), "DUAL_TICKER_DATABASE_URL": database_url}


def run_tracker(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dual_ticker.oms.position_tracker"],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def tables(url: str) -> set[str]:
    connection = psycopg2.connect(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            return {name for (name,) in cursor.fetchall()}
    finally:
        connection.close()


@pytest.mark.parametrize("form", FORMS)
def test_the_position_tracker_opens_and_migrates_each_form(empty_database, form, tmp_path):
    done = run_tracker(environment(tmp_path, written_as(empty_database, form)))
    assert done.returncode == 0, done.stderr
    assert "📊 No active positions" in done.stdout
    assert {"current_positions", "dual_ticker_migrations"} <= tables(empty_database)


@pytest.mark.parametrize("form", ["postgresql+psycopg", "words"])
def test_the_sidecar_serves_health_from_each_form_without_showing_the_password(
    empty_database, form, tmp_path
):
    port = free_port()
    env = environment(tmp_path, written_as(empty_database, form))
    env["DUAL_TICKER_SIDECAR_PORT"] = str(port)
    process = subprocess.Popen(
        [sys.executable, "-m", "dual_ticker.monitoring"],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        health = None
        deadline = time.monotonic() + 30
        while health is None and time.monotonic() < deadline and process.poll() is None:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/monitoring/health", timeout=2)
            except httpx.TransportError:
                time.sleep(0.1)
        assert health is not None, "the sidecar did not answer"
        assert health.json()["components"]["database"] == "healthy"
    finally:
        process.terminate()
        output = process.communicate(timeout=15)[0]
    assert "monitoring postgresql://" in output
    assert PASSWORD not in output and "s3cret" not in output


def test_dagster_storage_opens_the_words_form(empty_database):
    storage = DagsterPostgresStorage(
        dagster_url(written_as(empty_database, "words")), should_autocreate_tables=True
    )
    try:
        assert list(storage.run_storage.get_runs()) == []
    finally:
        storage.event_log_storage.dispose()  # its listener thread holds a connection
    assert "runs" in tables(empty_database)


def test_dagster_asset_materialize_with_the_sqlalchemy_form(embedded_database, tmp_path):
    command = [
        str(os.path.join(os.path.dirname(sys.executable), "dagster")),
        *("asset", "materialize", "-m", "dual_ticker.definitions"),
        *("--select", "raw_bars", "--partition", "2020-12-01"),
    ]
    env = environment(tmp_path / "home", written_as(embedded_database, "postgresql+psycopg2"))
    # From the checkout, without DAGSTER_HOME: the CLI reads ./dagster.yaml (PostgreSQL storage).
    done = subprocess.run(
        command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    connection = psycopg2.connect(embedded_database)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM raw_bars")
            assert cursor.fetchone()[0] > 0
            cursor.execute("SELECT count(*) FROM runs WHERE status = 'SUCCESS'")
            assert cursor.fetchone()[0] == 1
    finally:
        connection.close()


@pytest.mark.parametrize(
    "value",
    [
        "mysql://trader:hunter2@db.example:3306/market",
        "host=db.example password=hunter2 colour=blue",
        "garbage",
    ],
)
def test_any_other_value_fails_at_load_in_one_line_without_the_password(value, tmp_path):
    done = run_tracker(environment(tmp_path, value))
    assert done.returncode == 1
    message = done.stderr.strip()
    assert "\n" not in message and "Traceback" not in message
    assert message.startswith("position_tracker: DUAL_TICKER_DATABASE_URL: ")
    assert "postgresql+psycopg2://" in message and "host=HOST" in message
    assert "hunter2" not in message
