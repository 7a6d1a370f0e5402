"""The same-day promise of one mall for one delivery point.

Everything here is mall-level on purpose: a per-store prep time or closing time would shape the
promise differently per store, and a client comparing promises could tell which store fills it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from shared.geo import Point, TravelModel, haversine_m

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PROMISE_STEP_MINUTES = 15


@dataclass(frozen=True, slots=True)
class MallRules:
    mall_id: str
    point: Point
    timezone: str
    hours: Mapping[str, tuple[time, time]]
    delivery_radius_m: int
    travel: TravelModel
    # Orders close this long before the mall does, so the last ones are packed before closing.
    cutoff_minutes_before_close: int
    prep_minutes: int

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True, slots=True)
class CapacityRule:
    same_day_enabled: bool = True
    promise_delay_minutes: int = 0


@dataclass(frozen=True, slots=True)
class MallCapacity:
    """Dispatch's capacity signal for one mall: for the whole area and per h3 cell."""

    whole_area: CapacityRule = CapacityRule()
    cells: Mapping[str, CapacityRule] = field(default_factory=dict)

    def rule_for(self, point_cells: Mapping[int, str]) -> CapacityRule:
        rules = [self.whole_area]
        rules += [self.cells[cell] for cell in point_cells.values() if cell in self.cells]
        return CapacityRule(
            same_day_enabled=all(r.same_day_enabled for r in rules),
            promise_delay_minutes=max(r.promise_delay_minutes for r in rules),
        )


class NoPromise(StrEnum):
    OUTSIDE_AREA = "outside same-day area"
    CLOSED = "same-day delivery has closed for today; try again tomorrow"
    PAUSED = "same-day delivery is paused in this area; try again later"


@dataclass(frozen=True, slots=True)
class Promise:
    mall_id: str
    deliver_by: datetime  # aware, in the mall's (and so the address's) time zone

    @property
    def human(self) -> str:
        hour = self.deliver_by.hour % 12 or 12
        # AM/PM spelled out: strftime's %p costs more than the rest of the page's promise.
        half = "AM" if self.deliver_by.hour < 12 else "PM"
        return f"Arrives today by {hour}:{self.deliver_by.minute:02d} {half}"


def is_within_area(mall: MallRules, point: Point) -> bool:
    return haversine_m(mall.point, point) <= mall.delivery_radius_m


def promise_for(
    mall: MallRules, point: Point, now: datetime, capacity: CapacityRule
) -> Promise | NoPromise:
    """When this mall can deliver to the point if ordered now, or why it cannot today."""
    if not is_within_area(mall, point):
        return NoPromise.OUTSIDE_AREA
    if not capacity.same_day_enabled:
        return NoPromise.PAUSED
    local_now = now.astimezone(mall.zone)
    hours = mall.hours.get(WEEKDAYS[local_now.weekday()])
    if hours is None:
        return NoPromise.CLOSED
    opens = datetime.combine(local_now.date(), hours[0], mall.zone)
    closes = datetime.combine(local_now.date(), hours[1], mall.zone)
    cutoff = closes - timedelta(minutes=mall.cutoff_minutes_before_close)
    if local_now >= cutoff:
        return NoPromise.CLOSED
    # An order placed before opening is packed once the mall opens: still the same day.
    packing_starts = max(local_now, opens)
    seconds = (
        mall.prep_minutes + capacity.promise_delay_minutes
    ) * 60 + mall.travel.travel_seconds(mall.point, point)
    deliver_by = _round_up(packing_starts + timedelta(seconds=seconds))
    if deliver_by.date() != local_now.date():
        return NoPromise.CLOSED
    return Promise(mall.mall_id, deliver_by)


def _round_up(moment: datetime) -> datetime:
    # Whole quarter hours: a promise to the minute would leak the exact travel time.
    step = PROMISE_STEP_MINUTES * 60
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    elapsed = (moment - midnight).total_seconds()
    return midnight + timedelta(seconds=math.ceil(elapsed / step) * step)
