"""The demo's offline baseline: the same orders, each sent alone to the nearest free driver.

Pure: given the orders the run delivered (when each was ready, its stores, its drop-off) and the
drivers it had (mall and starting point), it replays the day without batching, with the same
travel model and service times dispatch plans with, so batching's gain is a ratio of two figures
measured the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise

from shared.geo import Point, TravelModel, meters_to_miles


@dataclass(frozen=True, slots=True)
class BaselineOrder:
    order_id: str
    mall_id: str
    ready_at: datetime
    pickups: tuple[Point, ...]
    dropoff: Point


@dataclass(frozen=True, slots=True)
class BaselineDriver:
    driver_id: str
    mall_id: str
    start: Point


@dataclass(frozen=True, slots=True)
class ServiceTimes:
    pickup: timedelta
    delivery: timedelta


@dataclass(frozen=True, slots=True)
class BaselineTrip:
    order_id: str
    driver_id: str
    started_at: datetime
    delivered_at: datetime
    meters: float


@dataclass(frozen=True, slots=True)
class BaselineResult:
    trips: tuple[BaselineTrip, ...]
    # Orders of a mall without any driver: they cannot be replayed, so they are not counted.
    unserved: tuple[str, ...] = ()

    @property
    def miles(self) -> float:
        return meters_to_miles(sum(t.meters for t in self.trips))

    @property
    def driver_hours(self) -> float:
        return sum((t.delivered_at - t.started_at).total_seconds() for t in self.trips) / 3600

    @property
    def miles_per_order(self) -> float:
        return self.miles / len(self.trips) if self.trips else 0.0

    @property
    def orders_per_driver_hour(self) -> float:
        hours = self.driver_hours
        return len(self.trips) / hours if hours > 0 else 0.0


@dataclass(slots=True)
class _DriverState:
    driver: BaselineDriver
    position: Point
    free_at: datetime | None = None
    trips: list[BaselineTrip] = field(default_factory=list)


def one_order_per_trip(
    orders: Sequence[BaselineOrder],
    drivers: Sequence[BaselineDriver],
    travel: TravelModel,
    service: ServiceTimes,
) -> BaselineResult:
    """Each order, in the order they became ready, goes to its mall's nearest free driver (or, when
    all are busy, to the one free first), who drives to its stores, then to the customer, and
    waits there for the next order. A trip is timed from that driver's start to the drop-off."""
    states = [_DriverState(d, d.start) for d in drivers]
    trips: list[BaselineTrip] = []
    unserved: list[str] = []
    for order in sorted(orders, key=lambda o: (o.ready_at, o.order_id)):
        pool = [s for s in states if s.driver.mall_id == order.mall_id]
        if not pool:
            unserved.append(order.order_id)
            continue
        first_stop = order.pickups[0] if order.pickups else order.dropoff
        free = [s for s in pool if s.free_at is None or s.free_at <= order.ready_at]
        if free:
            chosen = min(
                free,
                key=lambda s: (travel.road_meters(s.position, first_stop), s.driver.driver_id),
            )
        else:
            chosen = min(
                pool,
                key=lambda s: (
                    s.free_at or order.ready_at,
                    travel.road_meters(s.position, first_stop),
                    s.driver.driver_id,
                ),
            )
        start = max(order.ready_at, chosen.free_at or order.ready_at)
        path = [chosen.position, *order.pickups, order.dropoff]
        meters = sum(travel.road_meters(a, b) for a, b in pairwise(path))
        seconds = sum(travel.travel_seconds(a, b) for a, b in pairwise(path))
        busy = timedelta(seconds=seconds) + service.pickup * len(order.pickups) + service.delivery
        trip = BaselineTrip(order.order_id, chosen.driver.driver_id, start, start + busy, meters)
        chosen.position, chosen.free_at = order.dropoff, trip.delivered_at
        trips.append(trip)
    return BaselineResult(tuple(trips), tuple(unserved))
