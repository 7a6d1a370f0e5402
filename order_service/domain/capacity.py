"""Whether a mall's fleet can take one more order in a delivery window.

The fleet is a flow of `orders_per_hour` deliveries (dispatch's count of the mall's drivers
times what one delivers an hour). Every open order needs one delivery inside its window; one
more fits in window W when, for every stretch of time [a, b] that contains W, the orders that
must be delivered within [a, b] (window opening at or after a, closing by b) plus this one are
no more than the fleet delivers in it. That is the classic test for jobs with release times and
deadlines on a single fluid machine; stretches that do not contain W are not made worse by it.
Orders already late still need a driver: they count as due within `late_within` from now.

An order placed for "as soon as possible" is at no door before `ASAP_LEAD` after its placing,
so its delivery is released then, not at once: counting the fleet as delivering from the moment
of placing promised the day's first hour, when drivers wait at the mall for the first orders to
be packed, more than the fleet then delivered (issue 16).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

LATE_WITHIN = timedelta(minutes=15)
# The shortest a store packs (the malls' prep is 10 minutes at the least) plus a short drive; a
# batching round's wait comes on top, so this errs on the side of the fleet's room.
ASAP_LEAD = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class Booked:
    """Open orders of one mall sharing a delivery window; `starts_at` is the earliest a driver
    can bring them to the door."""

    starts_at: datetime
    ends_at: datetime
    orders: int


def asap_booked(placed_at: datetime, ends_at: datetime, orders: int) -> Booked:
    """Orders placed for "as soon as possible": released `ASAP_LEAD` after their placing, or at
    their promise if that comes sooner."""
    return Booked(min(placed_at + ASAP_LEAD, ends_at), ends_at, orders)


def has_room(
    starts_at: datetime,
    ends_at: datetime,
    booked: Sequence[Booked],
    orders_per_hour: float,
    now: datetime,
    *,
    late_within: timedelta = LATE_WITHIN,
) -> bool:
    if ends_at <= now or orders_per_hour <= 0:
        return False
    release = max(starts_at, now)
    jobs = [
        (max(b.starts_at, now), max(b.ends_at, now + late_within), b.orders)
        for b in booked
        if b.orders > 0
    ]
    starts = sorted({r for r, _, _ in jobs if r <= release} | {release})
    for a in starts:
        # The orders that must be served within [a, b], by b; swept in deadline order.
        inside = sorted((d, n) for r, d, n in jobs if r >= a)
        demand = 1 + sum(n for d, n in inside if d <= ends_at)
        ends = sorted({d for d, _ in inside if d > ends_at} | {ends_at})
        index = 0
        due = [(d, n) for d, n in inside if d > ends_at]
        for b in ends:
            while index < len(due) and due[index][0] <= b:
                demand += due[index][1]
                index += 1
            if demand > orders_per_hour * (b - a).total_seconds() / 3600:
                return False
    return True
