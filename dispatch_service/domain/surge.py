"""Surge: as a route's last moment to leave the mall nears with no taker, pay and reach grow."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True, slots=True)
class SurgePolicy:
    # Descending: crossing each threshold of slack adds one level.
    slack_thresholds: tuple[timedelta, ...]
    step_pct: int
    cap_pct: int
    base_radius_m: float
    radius_step_m: float
    max_radius_m: float


def surge_level(slack: timedelta, thresholds: Sequence[timedelta]) -> int:
    return sum(1 for threshold in thresholds if slack < threshold)


def offer_level(slack: timedelta, thresholds: Sequence[timedelta], *, round_number: int) -> int:
    """Surge pays for a route nobody took: its first offer is at base pay, however short the
    slack, or every tight same-day route would be surged before any driver could say yes."""
    return 0 if round_number <= 1 else surge_level(slack, thresholds)


def surged_pay(base_cents: int, level: int, policy: SurgePolicy) -> int:
    raise_pct = min(level * policy.step_pct, policy.cap_pct)
    return base_cents + (base_cents * raise_pct + 99) // 100


def offer_radius_m(level: int, policy: SurgePolicy) -> float:
    return min(policy.base_radius_m + level * policy.radius_step_m, policy.max_radius_m)
