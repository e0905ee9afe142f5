"""One validated settings object, built from the YAML files in config/ and the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from dual_ticker.storage.database import UnsupportedDatabaseUrl, normalised_url

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = PROJECT_ROOT / "config"
ENVIRONMENTS = ("dev", "ci", "prod")
FeedName = Literal["alpha_vantage", "yahoo_finance", "replay"]
PriceBasis = Literal["adjusted", "raw"]
PRICE_BASES = ("adjusted", "raw")
DATABASE_URL_VARIABLE = "DUAL_TICKER_DATABASE_URL"
LIVE_TRADING_VARIABLE = "DUAL_TICKER_LIVE_TRADING"
# Alpha Vantage's delayed entitlement serves intraday bars this many minutes after real time.
DELAYED_ENTITLEMENT_MINUTES = 15


class ConfigError(ValueError):
    """A configuration file or variable is wrong; the message names the file and the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataSettings(_Strict):
    bar_size: int = Field(ge=1, le=60, description="bar length in minutes")
    symbols: tuple[str, ...] = ("NVDA", "MSFT")
    history_start: date = Field(
        default=date(2000, 1, 3),
        ge=date(2000, 1, 3),
        description="first session partition (Alpha Vantage's intraday history starts 2000-01-03)",
    )
    replay_dir: str = "data/replay"
    warmup_bars: int = Field(default=400, ge=26)
    backfill_chunk_sessions: int = Field(
        default=21, ge=1, description="sessions a run lands, gates and commits at a time"
    )
    observation_staleness_minutes: int = Field(default=5, ge=1)
    max_bars_per_test: int | None = Field(default=None, ge=1)
    max_bars_per_session: int | None = Field(default=None, ge=1)


class FeedSettings(_Strict):
    primary: FeedName
    fallback: FeedName | None = None
    retry_attempts: int = Field(default=3, ge=1, le=10)
    retry_delay: float = Field(default=1.0, ge=0)
    timeout_seconds: float = Field(default=10.0, gt=0)
    deadline_seconds: float = Field(default=45.0, gt=0)
    rate_limit_per_minute: int = Field(default=75, ge=1)
    entitlement: Literal["realtime", "delayed"] | None = "realtime"
    failover_after_failures: int = Field(default=3, ge=1)
    failback_after_probes: int = Field(default=3, ge=1)
    probe_interval_seconds: int = Field(default=60, ge=5)
    price_basis: PriceBasis = Field(
        default="adjusted",
        description="adjusted: split- and dividend-adjusted as of the fetch; raw: as traded",
    )

    @field_validator("price_basis", mode="before")
    @classmethod
    def _known_basis(cls, value):
        if value not in PRICE_BASES:
            raise ValueError(
                "expected adjusted (split-adjusted, both feeds) or raw (as traded, Alpha Vantage "
                "only); set one of them"
            )
        return value

    @property
    def delay_minutes(self) -> int:
        """How far behind real time the primary's bars arrive: live windows end this much before
        the tick (a delayed Alpha Vantage key; 0 otherwise)."""
        delayed = self.primary == "alpha_vantage" and self.entitlement == "delayed"
        return DELAYED_ENTITLEMENT_MINUTES if delayed else 0

    @model_validator(mode="after")
    def _fallback_differs(self) -> FeedSettings:
        if self.fallback is not None and self.fallback == self.primary:
            raise ValueError("feeds.fallback must differ from feeds.primary")
        return self

    @model_validator(mode="after")
    def _basis_offered(self) -> FeedSettings:
        # Yahoo's 1m prices are split-adjusted as of the request, and un-adjusting them would need
        # every split from each bar up to now (a second request the 1m chart does not carry).
        if self.price_basis == "raw" and "yahoo_finance" in (self.primary, self.fallback):
            raise ValueError(
                "price_basis raw is not offered by yahoo_finance (its 1m prices are "
                "split-adjusted); use price_basis: adjusted, or take yahoo_finance out of feeds"
            )
        return self


class BrokerSettings(_Strict):
    kind: Literal["paper", "ib"] = "paper"
    live_trading_enabled: bool = False
    max_order_quantity: int = Field(default=1000, ge=1)
    max_position_notional: float = Field(default=250_000.0, gt=0)
    slippage_bps: float = Field(default=1.0, ge=0)
    commission_per_share: float = Field(default=0.005, ge=0)
    connect_timeout_seconds: float = Field(default=10.0, gt=0)


class VolumeRules(_Strict):
    max_zero_volume_share: float = Field(ge=0, le=1)
    spike_factor: float = Field(gt=1)


class IndicatorRules(_Strict):
    rsi_min: float = 0.0
    rsi_max: float = 100.0
    price_band: float = Field(
        gt=0, description="EMAs and VWAP within this fraction of the session range"
    )


class ValidationSettings(_Strict):
    missing_ratio_warn: float = Field(ge=0, le=1)
    missing_ratio_fail: float = Field(ge=0, le=1)
    missing_ratio_live: float = Field(ge=0, le=1)
    missing_ratio_live_warn: float = Field(ge=0, le=1)
    missing_ratio_fallback: float = Field(ge=0, le=1)
    min_expected_bars: int = Field(ge=1, description="denominator floor early in a session")
    max_price_jump: float = Field(gt=0)
    max_staleness_minutes: int = Field(ge=1)
    volume: VolumeRules
    indicators: IndicatorRules

    @model_validator(mode="after")
    def _warn_below_fail(self) -> ValidationSettings:
        if self.missing_ratio_warn > self.missing_ratio_fail:
            raise ValueError("missing_ratio_warn must not exceed missing_ratio_fail")
        if self.missing_ratio_live_warn > self.missing_ratio_live:
            raise ValueError("missing_ratio_live_warn must not exceed missing_ratio_live")
        return self


class ClockSettings(_Strict):
    """ "now" of the system: the wall clock, or a replay that maps wall time onto a recording."""

    mode: Literal["system", "replay"] = "system"
    replay_start: datetime | None = Field(
        default=None, description="recorded moment that `make run` starts at (mode: replay)"
    )
    speed: float = Field(default=1.0, gt=0, le=60)

    @model_validator(mode="after")
    def _replay_needs_a_start(self) -> ClockSettings:
        if self.mode == "replay" and (
            self.replay_start is None or self.replay_start.tzinfo is None
        ):
            raise ValueError("clock.replay_start with a UTC offset is required for mode: replay")
        return self


class TimescaleSettings(_Strict):
    """TimescaleDB policies (used only where the extension is present). Retention is off unless
    set, applies to raw_bars only and drops chunks by when they were written, never by the age of
    the market data in them: a backfill's history is never dropped as it lands."""

    raw_bars_retention_days: int | None = Field(default=None, ge=1)


class EnvironmentFile(_Strict):
    data: DataSettings
    feeds: FeedSettings
    clock: ClockSettings = ClockSettings()
    timescaledb: TimescaleSettings = TimescaleSettings()
    validation_profile: Literal["standard", "live"] = "standard"
    broker: BrokerSettings = BrokerSettings()


class QualityFile(_Strict):
    validation: ValidationSettings


class Endpoints(_Strict):
    """What the environment says about where things are (never secrets)."""

    alphavantage_base_url: str = "https://www.alphavantage.co/query"
    yahoo_base_url: str | None = None
    ib_host: str = "127.0.0.1"
    ib_port: int = 4002
    ib_client_id: int = 1
    ib_account: str | None = None
    alert_webhook: str | None = None
    sidecar_host: str = "127.0.0.1"
    sidecar_port: int = 8000
    run_broker_url: str | None = None  # Celery broker of the run workers; unset = the database


class Settings(_Strict):
    env: Literal["dev", "ci", "prod"]
    home: Path
    database_url: str | None  # normalised: a postgresql:// URL, or None for the embedded server
    replay_dir: Path
    data: DataSettings
    feeds: FeedSettings
    broker: BrokerSettings
    validation: ValidationSettings
    validation_profile: Literal["standard", "live"]
    endpoints: Endpoints
    clock: ClockSettings = ClockSettings()
    timescaledb: TimescaleSettings = TimescaleSettings()
    live_trading_confirmed: bool = False  # the environment's half of the live permission

    @property
    def missing_ratio_limits(self) -> tuple[float, float]:
        """(warn, fail) thresholds of the missing ratio for the primary feed's data."""
        v = self.validation
        if self.validation_profile == "live":
            return v.missing_ratio_live_warn, v.missing_ratio_live
        return v.missing_ratio_warn, v.missing_ratio_fail


def _read_yaml(path: Path) -> Mapping:
    if not path.is_file():
        raise ConfigError(
            f"{path}: file not found; restore it from the repository or fix DUAL_TICKER_ENV"
        )
    try:
        content = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(
            f"{path}:{where}: not valid YAML ({getattr(exc, 'problem', exc)})"
        ) from None
    if not isinstance(content, Mapping):
        raise ConfigError(f"{path}: expected a mapping of keys at the top level")
    return content


def _validate(model: type[BaseModel], content: Mapping, path: Path) -> BaseModel:
    try:
        return model.model_validate(content)
    except ValidationError as exc:
        # A misspelt key is both unknown and a missing required one: name the misspelling.
        first = sorted(exc.errors(), key=lambda error: error["type"] != "extra_forbidden")[0]
        key = ".".join(str(part) for part in first["loc"]) or "(top level)"
        got = (
            f" (got {first['input']!r})" if first["type"] != "missing" and "input" in first else ""
        )
        message = first["msg"].replace("Value error, ", "")
        if first["type"] == "extra_forbidden":
            message = "unknown key; remove it or check its spelling"
        raise ConfigError(f"{path}: {key}: {message}{got}") from None


def _int_variable(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name}: expected an integer, got {raw!r}") from None


def _endpoints(environ: Mapping[str, str]) -> Endpoints:
    def text(name: str) -> str | None:
        return environ.get(name) or None

    return Endpoints(
        alphavantage_base_url=text("ALPHAVANTAGE_BASE_URL") or Endpoints().alphavantage_base_url,
        yahoo_base_url=text("YAHOO_BASE_URL"),
        ib_host=text("IB_HOST") or "127.0.0.1",
        ib_port=_int_variable(environ, "IB_PORT", 4002),
        ib_client_id=_int_variable(environ, "IB_CLIENT_ID", 1),
        ib_account=text("IB_ACCOUNT"),
        alert_webhook=text("DUAL_TICKER_ALERT_WEBHOOK"),
        sidecar_host=text("DUAL_TICKER_SIDECAR_HOST") or "127.0.0.1",
        sidecar_port=_int_variable(environ, "DUAL_TICKER_SIDECAR_PORT", 8000),
        run_broker_url=text("DUAL_TICKER_RUN_BROKER_URL"),
    )


def _clock(configured: ClockSettings, environ: Mapping[str, str]) -> ClockSettings:
    """DUAL_TICKER_REPLAY_START / DUAL_TICKER_REPLAY_SPEED (which `run --replay-start/--speed`
    sets for every process of the stack) replay from that moment whatever the file says."""
    start, speed = environ.get("DUAL_TICKER_REPLAY_START"), environ.get("DUAL_TICKER_REPLAY_SPEED")
    if not start and not speed:
        return configured
    if not start and configured.mode != "replay":
        raise ConfigError("DUAL_TICKER_REPLAY_SPEED: needs a replay start; give --replay-start too")
    try:
        moment = datetime.fromisoformat(start) if start else configured.replay_start
    except ValueError:
        raise ConfigError(
            f"DUAL_TICKER_REPLAY_START: {start!r} is not a moment; give e.g. '2020-12-18 10:00' "
            "(New York time unless it has an offset)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("America/New_York"))
    try:
        return ClockSettings(
            mode="replay", replay_start=moment, speed=float(speed or configured.speed)
        )
    except (ValueError, ValidationError):
        raise ConfigError(
            f"DUAL_TICKER_REPLAY_SPEED: {speed!r} is not a speed; give a number above 0, at most 60"
        ) from None


def _database_url(environ: Mapping[str, str]) -> str | None:
    raw = (environ.get(DATABASE_URL_VARIABLE) or "").strip()
    if not raw:
        return None
    try:
        return normalised_url(raw)
    except UnsupportedDatabaseUrl as error:
        raise ConfigError(f"{DATABASE_URL_VARIABLE}: {error}") from None


def _live_trading_confirmed(environ: Mapping[str, str]) -> bool:
    """Only an explicit `yes` confirms: a stray 1 or true from a template must not trade live."""
    return (environ.get(LIVE_TRADING_VARIABLE) or "").strip().lower() == "yes"


def environment_name(environ: Mapping[str, str] | None = None) -> str:
    environ = os.environ if environ is None else environ
    name = environ.get("DUAL_TICKER_ENV") or "dev"
    if name not in ENVIRONMENTS:
        raise ConfigError(
            f"DUAL_TICKER_ENV: {name!r} is not one of dev, ci, prod; set one or unset it"
        )
    return name


def home_folder(environ: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    return Path(environ.get("DUAL_TICKER_HOME") or PROJECT_ROOT / ".dual_ticker").resolve()


def load_settings(
    environ: Mapping[str, str] | None = None, config_dir: Path | None = None
) -> Settings:
    """Reads config/<env>.yaml and config/data_quality.yaml and the environment, validated."""
    environ = os.environ if environ is None else environ
    config_dir = CONFIG_DIR if config_dir is None else Path(config_dir)
    env = environment_name(environ)
    env_path = config_dir / f"{env}.yaml"
    env_file = _validate(EnvironmentFile, _read_yaml(env_path), env_path)
    quality_path = config_dir / "data_quality.yaml"
    quality_file = _validate(QualityFile, _read_yaml(quality_path), quality_path)
    replay_dir = Path(environ.get("DUAL_TICKER_REPLAY_DIR") or env_file.data.replay_dir)
    if not replay_dir.is_absolute():
        replay_dir = PROJECT_ROOT / replay_dir
    return Settings(
        env=env,
        home=home_folder(environ),
        database_url=_database_url(environ),
        replay_dir=replay_dir,
        data=env_file.data,
        feeds=env_file.feeds,
        broker=env_file.broker,
        validation=quality_file.validation,
        validation_profile=env_file.validation_profile,
        endpoints=_endpoints(environ),
        clock=_clock(env_file.clock, environ),
        timescaledb=env_file.timescaledb,
        live_trading_confirmed=_live_trading_confirmed(environ),
    )
