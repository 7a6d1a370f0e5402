"""A mall's same-day capacity, as dispatch tells the catalog: normal, delayed, or off.

A state changes only after the same observation holds for several rounds in a row, so one bad
round does not flap the catalog's promise on and off.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class CapacityStatus(StrEnum):
    NORMAL = "normal"
    DELAYED = "delayed"
    DISABLED = "disabled"


@dataclass(frozen=True, slots=True)
class CapacityState:
    status: CapacityStatus = CapacityStatus.NORMAL
    pending: CapacityStatus | None = None
    pending_rounds: int = 0


@dataclass(frozen=True, slots=True)
class CapacityPolicy:
    at_risk_saturation_count: int
    rounds: int
    promise_delay_minutes: int


@dataclass(frozen=True, slots=True)
class CapacitySignal:
    same_day_enabled: bool
    promise_delay_minutes: int
    reason: str


def observed_status(
    *,
    pool_size: int,
    at_risk_count: int,
    has_drivers: bool,
    policy: CapacityPolicy,
    is_short_of_drivers: bool = False,
) -> CapacityStatus:
    if pool_size > 0 and not has_drivers:
        return CapacityStatus.DISABLED
    # Promises already lost say the fleet is behind; rounds that leave orders waiting for a
    # free driver say so before any promise is lost, while new promises can still be kept.
    if at_risk_count >= policy.at_risk_saturation_count or is_short_of_drivers:
        return CapacityStatus.DELAYED
    return CapacityStatus.NORMAL


def observe(
    state: CapacityState, observed: CapacityStatus, policy: CapacityPolicy
) -> tuple[CapacityState, CapacitySignal | None]:
    if observed is state.status:
        return CapacityState(state.status), None
    rounds = state.pending_rounds + 1 if observed is state.pending else 1
    if rounds < policy.rounds:
        return CapacityState(state.status, observed, rounds), None
    return CapacityState(observed), signal_for(observed, policy)


def signal_for(status: CapacityStatus, policy: CapacityPolicy) -> CapacitySignal:
    if status is CapacityStatus.DISABLED:
        return CapacitySignal(False, 0, "no drivers available near the mall")
    if status is CapacityStatus.DELAYED:
        return CapacitySignal(
            True, policy.promise_delay_minutes, "ready orders are waiting for drivers"
        )
    return CapacitySignal(True, 0, "capacity restored")
