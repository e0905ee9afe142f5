"""The failover policy: away after N consecutive failures, back after M healthy probes, one switch each."""

import pandas as pd

from dual_ticker.feeds.feed_switch import (
    FeedState,
    after_probe,
    after_requests,
    consecutive_failures,
    probe_due,
)

AV, YAHOO = "alpha_vantage", "yahoo_finance"
T0 = pd.Timestamp("2020-12-01 15:00", tz="UTC")


def test_consecutive_failures_stop_at_the_latest_success():
    assert consecutive_failures(["error", "throttled", "ok", "error"]) == 2
    assert consecutive_failures(["out_of_range", "error"]) == 0
    assert consecutive_failures([]) == 0


def test_deliveries_the_gate_rejected_count_as_failures_beside_failed_requests():
    assert consecutive_failures(["gate_failed", "error", "gate_failed", "ok"]) == 3
    state, switch = after_requests(
        FeedState(AV), AV, YAHOO, ["gate_failed", "error", "gate_failed"], threshold=3
    )
    assert switch.to_feed == YAHOO and state.active == YAHOO
    assert "2 of them deliveries the gate rejected" in switch.message


def test_switches_away_only_after_n_consecutive_failures():
    state = FeedState(AV)
    state, switch = after_requests(state, AV, YAHOO, ["error", "unavailable"], threshold=3)
    assert switch is None and state.active == AV and state.consecutive_failures == 2
    state, switch = after_requests(
        state, AV, YAHOO, ["error", "unavailable", "throttled", "ok"], threshold=3
    )
    assert switch.from_feed == AV and switch.to_feed == YAHOO and switch.number == 1
    assert state.active == YAHOO and state.switches == 1
    # Further failures of the primary while on the fallback do not switch again.
    state, again = after_requests(state, AV, YAHOO, ["error"] * 10, threshold=3)
    assert again is None and state.active == YAHOO


def test_no_fallback_means_no_switch():
    state, switch = after_requests(FeedState("replay"), "replay", None, ["error"] * 5, threshold=3)
    assert switch is None and state.active == "replay"


def test_probes_every_interval_and_switches_back_after_m_healthy_in_a_row():
    state = FeedState(YAHOO, switches=1)
    assert probe_due(state, AV, T0, 60)
    state, switch = after_probe(state, AV, True, needed=3, now=T0)
    assert switch is None and not probe_due(state, AV, T0 + pd.Timedelta(seconds=59), 60)
    state, _ = after_probe(state, AV, False, needed=3, now=T0 + pd.Timedelta(seconds=60))
    assert state.healthy_probes == 0  # an unhealthy probe restarts the count
    for i in range(2):
        state, switch = after_probe(
            state, AV, True, needed=3, now=T0 + pd.Timedelta(seconds=120 + 60 * i)
        )
        assert switch is None
    state, switch = after_probe(state, AV, True, needed=3, now=T0 + pd.Timedelta(seconds=240))
    assert switch.to_feed == AV and switch.number == 2 and state.active == AV
    assert not probe_due(state, AV, T0 + pd.Timedelta(hours=1), 60)  # on the primary: no probes
