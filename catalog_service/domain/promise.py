"""The delivery windows and the promise of one mall for one delivery point.

Everything here is mall-level on purpose: a per-store prep time or closing time would shape the
promise differently per store, and a client comparing promises could tell which store fills it.
A window is "as soon as possible today" (until the promise) or a two-hour slot, today or
tomorrow; dispatch's capacity signal pauses today's windows or pushes them later.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from shared.geo import Point, TravelModel, haversine_m
from shared.windows import window_label

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


class WindowKind(StrEnum):
    # As soon as possible today: from the order until the promise.
    ASAP = "asap"
    # A two-hour slot the shopper picks, today or tomorrow.
    SCHEDULED = "scheduled"


SLOT = timedelta(hours=2)
# Windows on offer reach this many days ahead, today included.
DAYS_AHEAD = 2


@dataclass(frozen=True, slots=True)
class Window:
    """When an order may arrive: from starts_at to ends_at, in the mall's time zone."""

    kind: WindowKind
    starts_at: datetime
    ends_at: datetime
    # A slot from the mall's opening: "by" its end says it better than a range.
    is_from_opening: bool = False

    def label(self, today: date) -> str:
        """For people, e.g. "by 11:45 AM", "6–8 PM", "tomorrow by 12 PM"."""
        return window_label(
            self.starts_at,
            self.ends_at,
            today,
            is_by=self.kind is WindowKind.ASAP or self.is_from_opening,
        )


@dataclass(frozen=True, slots=True)
class Promise:
    """The earliest window a mall has for a point: what a listing shows."""

    mall_id: str
    deliver_by: datetime  # aware, in the mall's (and so the address's) time zone
    # The mall's local day when the promise was made: its offer ids are good for that day.
    day: date
    window: Window

    @property
    def human(self) -> str:
        if self.window.kind is WindowKind.ASAP:
            hour = self.deliver_by.hour % 12 or 12
            # AM/PM spelled out: strftime's %p costs more than the rest of the page's promise.
            half = "AM" if self.deliver_by.hour < 12 else "PM"
            return f"Arrives today by {hour}:{self.deliver_by.minute:02d} {half}"
        label = self.window.label(self.day)
        return f"Arrives {label}" if label.startswith("tomorrow") else f"Arrives today {label}"


def is_within_area(mall: MallRules, point: Point) -> bool:
    return haversine_m(mall.point, point) <= mall.delivery_radius_m


def windows_for(
    mall: MallRules, point: Point, now: datetime, capacity: CapacityRule
) -> list[Window] | NoPromise:
    """The windows this mall can keep for the point if ordered now, earliest first, or why
    there are none. Dispatch's signal pauses today's windows or delays them; tomorrow's hold."""
    if not is_within_area(mall, point):
        return NoPromise.OUTSIDE_AREA
    local_now = now.astimezone(mall.zone)
    travel = timedelta(seconds=mall.travel.travel_seconds(mall.point, point))
    prep = timedelta(minutes=mall.prep_minutes)
    windows: list[Window] = []
    for offset in range(DAYS_AHEAD):
        day = local_now.date() + timedelta(days=offset)
        hours = mall.hours.get(WEEKDAYS[day.weekday()])
        if hours is None:
            continue
        opens = datetime.combine(day, hours[0], mall.zone)
        closes = datetime.combine(day, hours[1], mall.zone)
        if offset == 0:
            if not capacity.same_day_enabled or local_now >= closes - prep:
                continue
            delay = timedelta(minutes=capacity.promise_delay_minutes)
            # An order placed before opening is packed once the mall opens: still that day.
            packing_starts = max(local_now, opens)
        else:
            delay = timedelta(0)
            packing_starts = opens
        earliest = packing_starts + prep + delay + travel
        if offset == 0:
            cutoff = closes - timedelta(minutes=mall.cutoff_minutes_before_close)
            candidate = _round_up(earliest)
            if local_now < cutoff and candidate.date() == day:
                windows.append(Window(WindowKind.ASAP, local_now, candidate))
        for start in _slot_starts(opens, closes):
            end = start + SLOT
            # A slot is offered while most of it is ahead (less is what "as soon as possible"
            # is for), and only if an order placed now can reach the door before it ends.
            if end - local_now <= SLOT / 2 or end < earliest:
                continue
            windows.append(Window(WindowKind.SCHEDULED, start, end, is_from_opening=start == opens))
    if windows:
        return sorted(windows, key=lambda w: (w.ends_at, w.starts_at))
    today_hours = mall.hours.get(WEEKDAYS[local_now.weekday()])
    if today_hours is not None and not capacity.same_day_enabled:
        return NoPromise.PAUSED
    return NoPromise.CLOSED


def _slot_starts(opens: datetime, closes: datetime) -> list[datetime]:
    """Two-hour slots from the first whole hour of opening, each starting before closing."""
    first = opens if opens.minute == 0 else opens.replace(minute=0) + timedelta(hours=1)
    starts = []
    start = first
    while start < closes:
        starts.append(start)
        start += SLOT
    return starts


def promise_for(
    mall: MallRules, point: Point, now: datetime, capacity: CapacityRule
) -> Promise | NoPromise:
    """The earliest window this mall can keep for the point if ordered now (today's as soon as
    possible, else a later slot, else tomorrow's), or why there is none."""
    windows = windows_for(mall, point, now, capacity)
    if isinstance(windows, NoPromise):
        return windows
    first = windows[0]
    return Promise(mall.mall_id, first.ends_at, now.astimezone(mall.zone).date(), first)


def _round_up(moment: datetime) -> datetime:
    # Whole quarter hours: a promise to the minute would leak the exact travel time.
    step = PROMISE_STEP_MINUTES * 60
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    elapsed = (moment - midnight).total_seconds()
    return midnight + timedelta(seconds=math.ceil(elapsed / step) * step)
