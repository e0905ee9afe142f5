"""The warm-up a run worker does before its first run: the data path of a minute run over a
made-up session, in memory, writing nothing."""

import pytest

from dual_ticker.orchestration import code_location
from dual_ticker.pipeline.rehearsal import rehearse
from dual_ticker.settings import load_settings


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_the_rehearsal_runs_the_gate_and_the_features(environment, test_home):
    settings = load_settings({"DUAL_TICKER_ENV": environment, "DUAL_TICKER_HOME": str(test_home)})
    order = [name for name in (settings.feeds.primary, settings.feeds.fallback) if name]
    assert rehearse(settings, order) == len(settings.data.symbols) * 60


def test_warming_the_code_location_rehearses_a_run(monkeypatch, test_home):
    monkeypatch.setenv("DUAL_TICKER_HOME", str(test_home))
    monkeypatch.setattr(code_location, "rehearsed_rows", 0)
    code_location.warm()
    assert code_location.rehearsed_rows == 120
