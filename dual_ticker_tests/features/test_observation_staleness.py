"""The observation's staleness on its edge, measured from the bar's END: a bar that ended exactly
the configured limit before decision time is accepted, one a minute older is refused; the live
form raises, the batch form skips that minute. Bars are published with the real storage code.

Checked against these breakages of dual_ticker/features/observation.py, each failing a test
here: the age measured from the bar's start (`at - start`), the limit refused at exactly the
limit (`age >= staleness`), and the batch form's tolerance measured from the bar's start
(`right_on="timestamp"`) or one minute short.
"""

import numpy as np
import pandas as pd
import pytest

from dual_ticker.features.observation import ObservationError, build_observation, build_observations
from dual_ticker.settings import load_settings
from dual_ticker.storage.database import transaction
from dual_ticker_tests.support.published import OPENED, publish

MINUTE = pd.Timedelta(minutes=1)
LIMIT = load_settings({}).data.observation_staleness_minutes  # the dev config's limit


def test_the_live_observation_accepts_a_bar_at_the_limit_and_refuses_a_minute_more(database_url):
    publish(database_url, {"NVDA": 10, "MSFT": 10})
    ended = OPENED + 10 * MINUTE  # the end of the latest bar (09:39-09:40)
    limit = pd.Timedelta(minutes=LIMIT)
    with transaction(database_url) as connection:
        accepted = build_observation(connection, ended + limit, 1, LIMIT)
        assert accepted.vector().shape == (28,) and not np.isnan(accepted.vector()).any()
        assert accepted.nvda_features[3] == pytest.approx(100.09)  # the 09:39 bar's close
        with pytest.raises(ObservationError, match="stale"):
            build_observation(connection, ended + limit + MINUTE, 1, LIMIT)


def test_the_batch_keeps_a_minute_at_the_limit_and_skips_a_minute_more(database_url):
    """NVDA trades on; MSFT's last bar ends at 09:40: its features serve NVDA's bar ends up to
    the limit after that, and the next one is skipped as stale."""
    publish(database_url, {"NVDA": 30, "MSFT": 10})
    ended = OPENED + 10 * MINUTE
    at_limit = ended + pd.Timedelta(minutes=LIMIT)
    with transaction(database_url) as connection:
        batch = build_observations(connection, OPENED, OPENED + 30 * MINUTE, 1, LIMIT)
    assert at_limit in batch.times and at_limit + MINUTE not in batch.times
    skipped = batch.skipped.set_index("time")["reason"]
    assert skipped[at_limit + MINUTE] == "MSFT stale or absent"
    assert batch.times.max() == at_limit
