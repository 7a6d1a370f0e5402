"""What one driver serving a mall delivers an hour: the rate quotes weigh each delivery window's
bookings against (zone.capacity_changed's orders_per_hour, times the drivers serving the mall).

A fixed setting promised more than the fleet carried once routes ran longer than it assumed
(issue 16: the demo's fleet delivered about 2.6 orders a driver-hour against a setting of 4, so
windows filled past what dispatch could keep). So the mall's own completed routes decide it,
starting from the setting: the setting weighs as `prior_hours` of driving at its rate, a few
routes move the figure and many settle it.

A route's driver time runs from its accept to its last stop, plus the drive back to the mall.
When the driver's previous route ended shortly before (within `max_gap`), the time runs from
that end instead: the drive back and the wait for the next round are then part of what a busy
fleet spends per order. A longer gap is a driver idle for want of orders, which says nothing of
how much the fleet can carry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class RateRoute:
    driver_id: str
    accepted_at: datetime
    completed_at: datetime
    # Orders taken to the door on it.
    orders: int
    # From its last stop back to the mall, at the travel model's speed.
    drive_back: timedelta


def orders_per_driver_hour(
    routes: Sequence[RateRoute], *, prior: float, prior_hours: float, max_gap: timedelta
) -> float:
    orders = 0
    seconds = 0.0
    previous_end: dict[str, datetime] = {}
    for route in sorted(routes, key=lambda r: (r.driver_id, r.accepted_at)):
        ended = previous_end.get(route.driver_id)
        if ended is not None and timedelta(0) <= route.accepted_at - ended <= max_gap:
            seconds += (route.completed_at - ended).total_seconds()
        else:
            seconds += (route.completed_at - route.accepted_at + route.drive_back).total_seconds()
        orders += route.orders
        previous_end[route.driver_id] = route.completed_at
    hours = seconds / 3600
    if prior_hours + hours <= 0:
        return prior
    return (prior * prior_hours + orders) / (prior_hours + hours)
