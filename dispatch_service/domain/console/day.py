"""The day so far at a mall and its same-day state (open, delayed, paused). Pure."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from uuid import UUID

from dispatch_service.domain.capacity import CapacityStatus
from dispatch_service.domain.console.phases import Milestones, RouteOnBoard


@dataclass(frozen=True, slots=True)
class DaySummary:
    orders: int
    delivered: int
    on_time_pct: float | None
    median_minutes_to_door: float | None
    drivers_online: int
    driver_hours: float
    orders_per_driver_hour: float | None
    pay_cents: int
    pay_per_hour_cents: int | None


def day_summary(
    shipments: Iterable[Milestones],
    routes: Iterable[RouteOnBoard],
    *,
    drivers_online: int,
    day_start: datetime,
    now: datetime,
) -> DaySummary:
    """Orders first seen since `day_start`. Driver hours are the hours of this mall's accepted
    routes: a finished one from accepting it to its last stop, one under way as long as its
    paid block (or longer, when it already took longer); pay is what those routes pay."""
    orders: dict[UUID, list[Milestones]] = defaultdict(list)
    for m in shipments:
        orders[m.order_id].append(m)
    placed = delivered = on_time = 0
    to_door: list[float] = []
    for parts in orders.values():
        first = min((m.first_seen_at for m in parts if m.first_seen_at), default=None)
        if first is None or first < day_start:
            continue
        placed += 1
        live = [m for m in parts if not m.is_cancelled]
        if not live or any(m.delivered_at is None for m in live):
            continue
        delivered += 1
        done_at = max(m.delivered_at for m in live if m.delivered_at is not None)
        promises = [m.deliver_by for m in live if m.deliver_by is not None]
        if promises and done_at <= min(promises):
            on_time += 1
        to_door.append((done_at - first).total_seconds() / 60)
    hours = 0.0
    pay_cents = 0
    for route in routes:
        if route.assigned_at is None:
            continue
        start = max(route.assigned_at, day_start)
        if route.ended_at is not None:
            end = min(route.ended_at, now)
        else:
            end = max(now, route.assigned_at + timedelta(minutes=route.block_minutes))
        if end <= start:
            continue
        hours += (end - start).total_seconds() / 3600
        pay_cents += route.pay_cents
    return DaySummary(
        orders=placed,
        delivered=delivered,
        on_time_pct=round(100 * on_time / delivered, 1) if delivered else None,
        median_minutes_to_door=round(statistics.median(to_door), 1) if to_door else None,
        drivers_online=drivers_online,
        driver_hours=round(hours, 2),
        orders_per_driver_hour=round(delivered / hours, 2) if hours > 0 else None,
        pay_cents=pay_cents,
        pay_per_hour_cents=round(pay_cents / hours) if hours > 0 else None,
    )


class SameDayStatus(StrEnum):
    OPEN = "open"
    DELAYED = "delayed"
    PAUSED = "paused"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class SameDayState:
    status: SameDayStatus
    delay_minutes: int
    reason: str
    is_paused_by_operator: bool


def same_day_state(
    *,
    capacity: CapacityStatus,
    is_paused: bool,
    paused_by: str | None,
    delay_minutes: int,
    local_now: datetime,
    hours: tuple[time, time] | None,
) -> SameDayState:
    if is_paused:
        return SameDayState(
            SameDayStatus.PAUSED, 0, f"paused by {paused_by or 'an operator'}", True
        )
    if capacity is CapacityStatus.DISABLED:
        return SameDayState(SameDayStatus.PAUSED, 0, "no drivers available near the mall", False)
    if hours is None or not hours[0] <= local_now.time() < hours[1]:
        return SameDayState(SameDayStatus.CLOSED, 0, "outside the mall's opening hours", False)
    if capacity is CapacityStatus.DELAYED:
        return SameDayState(
            SameDayStatus.DELAYED, delay_minutes, "ready orders are waiting for drivers", False
        )
    return SameDayState(SameDayStatus.OPEN, 0, "taking same-day orders", False)
