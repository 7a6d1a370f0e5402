"""Where a re-routed shipment's pickup and drop-off go in a driver's route: after the pending
pickups, the drop-off where it delays the rest least, every promise kept."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from uuid import UUID

from dispatch_service.domain.planning import stop_id
from dispatch_service.domain.pool import PooledShipment, Timing
from shared.events.common import GeoPoint
from shared.events.dispatch import RouteStop, StopKind
from shared.events.driver import StopStatus
from shared.geo import Point

if TYPE_CHECKING:
    # Only a type here: the route module calls this one.
    from dispatch_service.domain.route import Route


def insert_shipment(
    route: Route, shipment: PooledShipment, mall: Point, timing: Timing, *, now: datetime
) -> list[RouteStop] | None:
    """The route's stops with the shipment's pickup after the pending pickups and its drop-off
    where it delays the rest least, or None when a promise would break (one already late may
    not get later)."""
    done = [s for s in route.stops if route.status_of(s) is not StopStatus.PENDING]
    pending = route.pending_stops()
    first_drop = next(
        (i for i, s in enumerate(pending) if s.kind is not StopKind.PICKUP), len(pending)
    )
    pickup, dropoff = _stops_of(route.route_id, shipment, now)
    start = _last_point(route, mall)
    before = _etas(pending, start, timing, now)
    best: tuple[float, list[RouteStop]] | None = None
    for at in range(first_drop + 1, len(pending) + 2):
        order = [*pending[:first_drop], pickup, *pending[first_drop:]]
        order.insert(at, dropoff)
        etas = _etas(order, start, timing, now)
        if not all(
            etas[s.stop_id] <= max(s.deliver_by, before.get(s.stop_id, s.deliver_by))
            for s in order
            if s.kind is StopKind.DROPOFF
        ):
            continue
        finish = max(etas.values()).timestamp()
        if best is None or finish < best[0]:
            best = (finish, order)
    if best is None:
        return None
    etas = _etas(best[1], start, timing, now)
    ordered = [*done, *best[1]]
    return [
        s.model_copy(update={"sequence": i, "eta": etas.get(s.stop_id, s.eta)})
        for i, s in enumerate(ordered)
    ]


def _stops_of(route_id: UUID, shipment: PooledShipment, now: datetime) -> list[RouteStop]:
    common = {
        "shipment_id": shipment.shipment_id,
        "order_id": shipment.order_id,
        "store_id": shipment.store_id,
        "store_name": shipment.store_name,
        "area": shipment.dropoff_area,
        "labels": list(shipment.labels),
        "package_count": shipment.package_count,
        "eta": now,
        "deliver_by": shipment.deliver_by,
    }
    return [
        RouteStop(
            stop_id=stop_id(route_id, StopKind.PICKUP, shipment.shipment_id),
            sequence=0,
            kind=StopKind.PICKUP,
            location=GeoPoint(lat=shipment.pickup.lat, lng=shipment.pickup.lng),
            address=shipment.pickup_instructions,
            instructions=shipment.pickup_instructions,
            **common,
        ),
        RouteStop(
            stop_id=stop_id(route_id, StopKind.DROPOFF, shipment.shipment_id),
            sequence=0,
            kind=StopKind.DROPOFF,
            location=GeoPoint(lat=shipment.dropoff.lat, lng=shipment.dropoff.lng),
            address=shipment.dropoff_address,
            pin_sha256=shipment.pin_sha256,
            **common,
        ),
    ]


def _last_point(route: Route, mall: Point) -> Point:
    done = [s for s in route.stops if route.status_of(s) in (StopStatus.PICKED_UP,)]
    if not done:
        return mall
    last = max(done, key=lambda s: s.sequence)
    return Point(last.location.lat, last.location.lng)


def _etas(
    stops: Sequence[RouteStop], start: Point, timing: Timing, now: datetime
) -> dict[UUID, datetime]:
    at, here, etas = now, start, {}
    for stop in stops:
        there = Point(stop.location.lat, stop.location.lng)
        at += timedelta(seconds=timing.travel.travel_seconds(here, there))
        etas[stop.stop_id] = at
        at += timing.pickup_service if stop.kind is StopKind.PICKUP else timing.delivery_service
        here = there
    return etas
