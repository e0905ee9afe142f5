"""Configuration: the shipped files load; a wrong file fails at load naming the file and key."""

import shutil
from pathlib import Path

import pytest

from dual_ticker.settings import CONFIG_DIR, ConfigError, load_settings
from dual_ticker.storage.database import dagster_url, redact


@pytest.mark.parametrize(
    "env,bar_size,profile", [("dev", 1, "standard"), ("ci", 5, "standard"), ("prod", 1, "live")]
)
def test_each_environment_loads(env, bar_size, profile):
    settings = load_settings({"DUAL_TICKER_ENV": env})
    assert settings.env == env
    assert settings.data.bar_size == bar_size
    assert settings.validation_profile == profile
    assert settings.validation.missing_ratio_warn == 0.02


def test_defaults_are_offline_and_ci_variable_selects_nothing():
    settings = load_settings({"CI": "true"})
    assert settings.env == "dev"
    assert settings.feeds.primary == "replay"
    assert settings.database_url is None
    assert settings.home.name == ".dual_ticker"
    assert settings.replay_dir.is_dir()
    assert settings.missing_ratio_limits == (0.02, 0.05)
    assert load_settings({"DUAL_TICKER_ENV": "prod"}).missing_ratio_limits == (0.005, 0.01)


def test_environment_overrides():
    settings = load_settings(
        {
            "DUAL_TICKER_HOME": "/tmp/elsewhere",
            "DUAL_TICKER_REPLAY_DIR": "/data/recordings",
            "DUAL_TICKER_DATABASE_URL": "postgresql://u:p@db:5432/x",
            "IB_PORT": "7497",
            "DUAL_TICKER_SIDECAR_PORT": "9100",
        }
    )
    assert str(settings.home) == "/tmp/elsewhere"
    assert str(settings.replay_dir) == "/data/recordings"
    assert settings.endpoints.ib_port == 7497 and settings.endpoints.sidecar_port == 9100


@pytest.fixture
def config_dir(tmp_path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, target)
    return target


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def _error(config_dir, env="dev") -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings({"DUAL_TICKER_ENV": env}, config_dir=config_dir)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_wrong_type_names_file_and_key(config_dir):
    _replace(config_dir / "dev.yaml", "bar_size: 1", "bar_size: one")
    message = _error(config_dir)
    assert message.startswith(f"{config_dir / 'dev.yaml'}: data.bar_size: ")
    assert "'one'" in message


def test_unknown_key_names_file_and_key(config_dir):
    _replace(config_dir / "data_quality.yaml", "missing_ratio_warn:", "missing_ratio_wran:")
    message = _error(config_dir)
    assert "data_quality.yaml: validation.missing_ratio_wran: unknown key" in message


def test_missing_file_is_named(config_dir):
    (config_dir / "ci.yaml").unlink()
    assert "ci.yaml: file not found" in _error(config_dir, env="ci")


def test_invalid_yaml_names_the_line(config_dir):
    (config_dir / "prod.yaml").write_text("data:\n  bar_size: [1\n")
    assert "prod.yaml: line" in _error(config_dir, env="prod")


def test_out_of_range_and_inconsistent_values(config_dir):
    _replace(
        config_dir / "data_quality.yaml", "missing_ratio_warn: 0.02", "missing_ratio_warn: 0.5"
    )
    assert "missing_ratio_warn must not exceed missing_ratio_fail" in _error(config_dir)


def test_unknown_feed_is_refused(config_dir):
    _replace(config_dir / "dev.yaml", "primary: replay", "primary: bloomberg")
    assert "dev.yaml: feeds.primary:" in _error(config_dir)


def test_bad_environment_variables():
    with pytest.raises(ConfigError, match="DUAL_TICKER_ENV: 'staging' is not one of dev, ci, prod"):
        load_settings({"DUAL_TICKER_ENV": "staging"})
    with pytest.raises(ConfigError, match="IB_PORT: expected an integer"):
        load_settings({"IB_PORT": "four"})


@pytest.mark.parametrize(
    "written",
    [
        "postgresql://trader:pw@db.example:5433/market?sslmode=require",
        "postgres://trader:pw@db.example:5433/market?sslmode=require",
        "postgresql+psycopg2://trader:pw@db.example:5433/market?sslmode=require",
        "postgresql+psycopg://trader:pw@db.example:5433/market?sslmode=require",
        "host=db.example port=5433 dbname=market user=trader password=pw sslmode=require",
    ],
)
def test_database_url_forms_are_normalised_at_load(written):
    url = load_settings({"DUAL_TICKER_DATABASE_URL": written}).database_url
    assert url == "postgresql://trader:pw@db.example:5433/market?sslmode=require"


def test_a_unix_socket_folder_in_words_becomes_a_host_query():
    written = "host=/run/postgresql dbname=dual_ticker user=postgres password='a b'"
    url = load_settings({"DUAL_TICKER_DATABASE_URL": written}).database_url
    assert url == "postgresql://postgres:a%20b@/dual_ticker?host=/run/postgresql"
    assert dagster_url(written) == "postgresql+psycopg2" + url.removeprefix("postgresql")


@pytest.mark.parametrize(
    "written,shown",
    [
        ("mysql://trader:hunter2@db.example/market", "'mysql://trader:***@db.example/market'"),
        ("host=db.example password=hunter2 colour=blue", "'host=db.example password=***'"),
        ("garbage", "'garbage'"),
    ],
)
def test_an_unaccepted_database_url_fails_in_one_line_without_the_password(written, shown):
    with pytest.raises(ConfigError) as caught:
        load_settings({"DUAL_TICKER_DATABASE_URL": written})
    message = str(caught.value)
    assert message.startswith(f"DUAL_TICKER_DATABASE_URL: {shown} is not a PostgreSQL")
    assert "hunter2" not in message and "\n" not in message
    assert "postgres://" in message and "host=HOST" in message


def test_redact_hides_passwords_in_urls_queries_and_words():
    text = (
        "postgresql://u:hunter2@h/d, postgresql://h/d?user=u&password=hunter2&sslmode=require, "
        "host=h password='hunter 2' user=u"
    )
    shown = redact(text)
    assert "hunter" not in shown
    assert "sslmode=require" in shown and "user=u" in shown


def test_live_trading_is_confirmed_only_by_an_explicit_yes():
    def confirmed(value):
        return load_settings({"DUAL_TICKER_LIVE_TRADING": value}).live_trading_confirmed

    assert confirmed("yes") and confirmed(" YES ")
    assert not confirmed("1") and not confirmed("true") and not confirmed("")


def test_history_start_before_alpha_vantage_history_is_refused(config_dir):
    _replace(config_dir / "dev.yaml", 'history_start: "2000-01-03"', 'history_start: "1999-12-31"')
    assert "dev.yaml: data.history_start: " in _error(config_dir)
