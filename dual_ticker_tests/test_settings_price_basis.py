"""feeds.price_basis: stated in every config, validated at load in one line that says what to do."""

import shutil
from pathlib import Path

import pytest

from dual_ticker.settings import CONFIG_DIR, ConfigError, load_settings


@pytest.fixture
def config_dir(tmp_path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, target)
    return target


def _set_basis(config_dir: Path, env: str, basis: str) -> None:
    path = config_dir / f"{env}.yaml"
    text = path.read_text()
    assert "  price_basis: adjusted" in text
    path.write_text(text.replace("  price_basis: adjusted", f"  price_basis: {basis}", 1))


def _error(config_dir: Path, env: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings({"DUAL_TICKER_ENV": env}, config_dir=config_dir)
    message = str(caught.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("env", ["dev", "ci", "prod"])
def test_every_config_states_the_adjusted_basis(env):
    assert load_settings({"DUAL_TICKER_ENV": env}).feeds.price_basis == "adjusted"


def test_an_unknown_basis_names_the_key_and_the_choices(config_dir):
    _set_basis(config_dir, "dev", "split")
    message = _error(config_dir, "dev")
    assert message.startswith(f"{config_dir / 'dev.yaml'}: feeds.price_basis: ")
    assert "expected adjusted" in message and "or raw" in message and "'split'" in message


def test_raw_with_yahoo_among_the_feeds_is_refused_with_what_to_do(config_dir):
    _set_basis(config_dir, "prod", "raw")
    message = _error(config_dir, "prod")
    assert "prod.yaml: feeds: " in message
    assert "raw is not offered by yahoo_finance" in message
    assert "use price_basis: adjusted, or take yahoo_finance out of feeds" in message


def test_raw_with_alpha_vantage_alone_loads(config_dir):
    _set_basis(config_dir, "prod", "raw")
    path = config_dir / "prod.yaml"
    path.write_text(path.read_text().replace("fallback: yahoo_finance", "fallback: null", 1))
    settings = load_settings({"DUAL_TICKER_ENV": "prod"}, config_dir=config_dir)
    assert settings.feeds.price_basis == "raw" and settings.feeds.fallback is None
