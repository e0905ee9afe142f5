"""What the observation takes, on small published tables: only complete bars, the positions of
`current_positions` (live) or of the caller (batch), a clear error naming an undefined indicator
or a missing bar, and in the batch every bar end of [start, end] with each skipped minute's reason.

Written for the mutants of dual_ticker/features/observation.py that survived the first
`make mutation` run (docs/MUTATION.md); each test fails on the mutants named in its docstring.
"""

import numpy as np
import pandas as pd
import pytest

from dual_ticker.features.observation import ObservationError, build_observation, build_observations
from dual_ticker.storage import positions
from dual_ticker.storage.database import transaction
from dual_ticker_tests.support.published import OPENED, close_at, publish

MINUTE = pd.Timedelta(minutes=1)
CLOSE = 3  # index of close among the 13 features


def test_the_live_observation_uses_the_latest_complete_bar_and_the_stored_positions(database_url):
    """Mutants: the latest bar looked up at `at + bar` (a bar still forming used), the
    observation's time dropped, the positions read for no symbol."""
    publish(database_url, {"NVDA": 20, "MSFT": 20})
    at = OPENED + 10 * MINUTE  # 09:40: the 09:40 bar is forming, 09:39 is the latest complete
    with transaction(database_url) as connection:
        held = [
            positions.PositionRow("NVDA", 5, 100, 500, 0),
            positions.PositionRow("MSFT", -2, 200, -400, 0),
        ]
        positions.replace(connection, held, at)
        observation = build_observation(connection, at, 1, 5)
    assert observation.at == at
    assert observation.nvda_features[CLOSE] == close_at(0, 9)
    assert observation.msft_features[CLOSE] == close_at(1, 9)
    assert observation.positions == (5.0, -2.0)
    assert observation.vector()[-2:].tolist() == [5.0, -2.0]


def test_the_live_observation_names_what_is_missing_or_undefined(database_url):
    """Mutants: the error messages emptied or changed, `value is None or isnan` as `and` (an
    undefined RSI let through as NaN)."""
    with transaction(database_url) as connection:
        with pytest.raises(
            ObservationError,
            match="NVDA: no complete bar before .*; materialize dual_ticker_bars first",
        ):
            build_observation(connection, OPENED + MINUTE, 1, 5)
    publish(database_url, {"NVDA": 3, "MSFT": 3}, undefined={"MSFT": 3})
    with transaction(database_url) as connection:
        with pytest.raises(
            ObservationError,
            match=r"MSFT: rsi undefined at bar .* \(indicator warm-up: RSI needs 14 earlier bars, EMA-26 25\); backfill earlier sessions",
        ):
            build_observation(connection, OPENED + 3 * MINUTE, 1, 5)
        with pytest.raises(
            ObservationError, match="the data is stale: check the feeds and the minute schedule"
        ):
            build_observation(connection, OPENED + 30 * MINUTE, 1, 5)


def test_the_batch_covers_every_bar_end_of_the_range_with_the_callers_positions(database_url):
    """Mutants: the rows read from later than `start - bar - staleness`, decision times at bar
    starts, the range's ends left out or not both required, the caller's positions dropped."""
    publish(database_url, {"NVDA": 30, "MSFT": 30})
    start, end = OPENED + 10 * MINUTE, OPENED + 20 * MINUTE
    held = np.column_stack([np.arange(11.0), -np.arange(11.0)])
    with transaction(database_url) as connection:
        batch = build_observations(connection, start, end, 1, 5, positions=held)
    assert list(batch.times) == list(pd.date_range(start, end, freq="1min"))
    assert batch.values.dtype == np.float64 and batch.values.shape == (11, 28)
    assert batch.values[0, CLOSE] == close_at(0, 9)  # the bar that ends at start
    assert batch.values[:, -2:].tolist() == held.tolist()
    assert batch.skipped.empty


def test_the_batch_skips_warm_up_and_stale_minutes_each_with_its_reason(database_url):
    """Mutants: an undefined indicator judged only where stale, the reasons' masks changed."""
    publish(database_url, {"NVDA": 20, "MSFT": 10}, undefined={"NVDA": 3})
    with transaction(database_url) as connection:
        batch = build_observations(connection, OPENED, OPENED + 20 * MINUTE, 1, 5)
    reasons = batch.skipped.set_index("time")["reason"]
    ends = pd.date_range(OPENED + MINUTE, periods=20, freq="1min")
    assert list(reasons.index) == [*ends[:3], *ends[15:]]
    assert set(reasons[ends[:3]]) == {"NVDA indicators undefined (warm-up)"}
    assert set(reasons[ends[15:]]) == {"MSFT stale or absent"}
    assert list(batch.times) == list(ends[3:15])
