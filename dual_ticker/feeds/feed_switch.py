"""When to move the active feed: away from the primary after repeated failures, back after
repeated healthy probes. Pure decisions; the failover sensor stores the state and raises alerts."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pandas as pd

NOT_A_FAILURE = {"ok", "out_of_range"}  # a window the feed cannot serve says nothing of its health
GATE_FAILED = "gate_failed"  # a request answered with data the quality gate rejected


@dataclass(frozen=True)
class FeedState:
    active: str
    consecutive_failures: int = 0
    healthy_probes: int = 0
    switches: int = 0
    last_probe_at: pd.Timestamp | None = None


@dataclass(frozen=True)
class Switch:
    number: int
    from_feed: str
    to_feed: str
    why: str

    @property
    def message(self) -> str:
        return f"feed switch #{self.number}: {self.from_feed} -> {self.to_feed} ({self.why})"


def consecutive_failures(outcomes_newest_first: list[str]) -> int:
    count = 0
    for outcome in outcomes_newest_first:
        if outcome in NOT_A_FAILURE:
            break
        count += 1
    return count


def after_requests(
    state: FeedState,
    primary: str,
    fallback: str | None,
    outcomes_newest_first: list[str],
    threshold: int,
) -> tuple[FeedState, Switch | None]:
    """On the primary: switch to the fallback once the latest `threshold` requests all failed."""
    failures = consecutive_failures(outcomes_newest_first)
    state = replace(state, consecutive_failures=failures)
    if state.active != primary or fallback is None or failures < threshold:
        return state, None
    rejected = outcomes_newest_first[:failures].count(GATE_FAILED)
    why = f"{failures} consecutive failed requests" + (
        f", {rejected} of them deliveries the gate rejected" if rejected else ""
    )
    switch = Switch(state.switches + 1, primary, fallback, why)
    return replace(state, active=fallback, switches=switch.number, healthy_probes=0), switch


def probe_due(state: FeedState, primary: str, now: pd.Timestamp, interval_seconds: int) -> bool:
    if state.active == primary:
        return False
    return state.last_probe_at is None or now - state.last_probe_at >= pd.Timedelta(
        seconds=interval_seconds
    )


def after_probe(
    state: FeedState, primary: str, healthy: bool, needed: int, now: pd.Timestamp
) -> tuple[FeedState, Switch | None]:
    """On the fallback: count healthy probes of the primary; switch back after `needed` in a row."""
    probes = state.healthy_probes + 1 if healthy else 0
    state = replace(state, healthy_probes=probes, last_probe_at=now)
    if probes < needed:
        return state, None
    switch = Switch(
        state.switches + 1, state.active, primary, f"{probes} healthy probes of {primary}"
    )
    return replace(
        state, active=primary, switches=switch.number, healthy_probes=0, consecutive_failures=0
    ), switch
