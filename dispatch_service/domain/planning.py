"""Turns a mall's pool into routes with the routing solver, and the solver's answer into stops.

The solver's answer is checked by the independent checker before anyone sees it; a plan that
fails the check is replaced by the greedy one, and a greedy plan that fails too plans nothing.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from dispatch_service.domain import checker, routing
from dispatch_service.domain.pool import PooledShipment, Timing
from shared.events.common import GeoPoint
from shared.events.dispatch import RouteStop, StopKind
from shared.geo import Point, meters_to_miles


@dataclass(frozen=True, slots=True)
class PlanningPolicy:
    timing: Timing
    block: timedelta
    route_fixed_cost_m: int
    late_delivery_window: timedelta
    solve_seconds: float
    seed: int


@dataclass(frozen=True, slots=True)
class PlannedRoute:
    route_id: UUID
    stops: tuple[RouteStop, ...]
    depart_at: datetime
    # The last moment to leave the mall and still keep every promise on the route.
    latest_start_at: datetime
    # The whole loop, back to the mall: what the mileage part of the pay covers.
    planned_miles: float
    # From leaving the mall to the end of the last drop-off: the block the driver is paid for.
    planned_minutes: int
    max_load: int

    @property
    def shipment_ids(self) -> set[UUID]:
        return {stop.shipment_id for stop in self.stops}

    @property
    def order_ids(self) -> list[UUID]:
        return sorted({stop.order_id for stop in self.stops}, key=str)

    @property
    def earliest_deliver_by(self) -> datetime:
        return min(stop.deliver_by for stop in self.stops)


@dataclass(frozen=True, slots=True)
class Plan:
    routes: tuple[PlannedRoute, ...]
    dropped: tuple[UUID, ...]
    method: routing.Method | None
    # What the checker found wrong with the solver's plans, when it found something.
    violations: tuple[str, ...] = ()


def effective_deadline(shipment: PooledShipment, now: datetime, policy: PlanningPolicy) -> datetime:
    """The promise; once flagged lost, as soon as possible within the late-delivery window."""
    if shipment.is_flagged_at_risk:
        return max(shipment.deliver_by, now + policy.late_delivery_window)
    return shipment.deliver_by


def plan_routes(
    mall: Point,
    pool: Sequence[PooledShipment],
    *,
    drivers: int,
    capacity: int,
    now: datetime,
    policy: PlanningPolicy,
    new_route_id: Callable[[], UUID],
) -> Plan:
    if not pool or drivers < 1:
        return Plan((), tuple(s.shipment_id for s in pool), None)
    shift_start = now + policy.timing.lead
    deadlines = {s.shipment_id: effective_deadline(s, now, policy) for s in pool}
    orders = [
        routing.DeliveryOrder(
            id=str(s.shipment_id),
            store=s.pickup,
            customer=s.dropoff,
            packages=s.package_count,
            ready_at=s.ready_at,
            deliver_by=deadlines[s.shipment_id],
            deliver_from=s.deliver_from,
        )
        for s in pool
        # A shipment bigger than any vehicle cannot be planned; it stays in the pool, visible.
        if s.package_count <= capacity
    ]
    fleet = routing.Fleet(
        drivers=drivers, capacity=capacity, block=policy.block, fixed_cost=policy.route_fixed_cost_m
    )
    problem = routing.build_problem(
        mall,
        orders,
        fleet,
        shift_start=shift_start,
        now=now,
        travel=policy.timing.travel,
        pickup_service_s=math.ceil(policy.timing.pickup_service.total_seconds()),
        delivery_service_s=math.ceil(policy.timing.delivery_service.total_seconds()),
    )
    solution = routing.solve(problem, time_limit_s=policy.solve_seconds, seed=policy.seed)
    violations = checker.check(problem, solution)
    if violations and solution.method is not routing.Method.GREEDY:
        solution = routing.solve_greedy(problem)
        greedy_violations = checker.check(problem, solution)
        violations = [*violations, *greedy_violations]
        if not greedy_violations:
            return _plan(
                pool, solution, shift_start, deadlines, policy, new_route_id, tuple(violations)
            )
    if violations:
        return Plan((), tuple(s.shipment_id for s in pool), None, tuple(violations))
    return _plan(pool, solution, shift_start, deadlines, policy, new_route_id, ())


def _plan(
    pool: Sequence[PooledShipment],
    solution: routing.RoutingSolution,
    shift_start: datetime,
    deadlines: dict[UUID, datetime],
    policy: PlanningPolicy,
    new_route_id: Callable[[], UUID],
    violations: tuple[str, ...],
) -> Plan:
    by_id = {s.shipment_id: s for s in pool}
    routes = tuple(
        _planned_route(route, by_id, shift_start, deadlines, policy.timing, new_route_id())
        for route in solution.routes
        if route.stops
    )
    routed = {shipment_id for route in routes for shipment_id in route.shipment_ids}
    dropped = tuple(s.shipment_id for s in pool if s.shipment_id not in routed)
    return Plan(routes, dropped, solution.method, violations)


def stop_id(route_id: UUID, kind: StopKind, shipment_id: UUID) -> UUID:
    # Derived, not drawn: a re-published plan names the same stops.
    return uuid.uuid5(route_id, f"{kind.value}:{shipment_id}")


def _planned_route(
    route: routing.Route,
    shipments: dict[UUID, PooledShipment],
    shift_start: datetime,
    deadlines: dict[UUID, datetime],
    timing: Timing,
    route_id: UUID,
) -> PlannedRoute:
    depart_at = shift_start + timedelta(seconds=route.start_s)
    stops: list[RouteStop] = []
    load = max_load = 0
    latest_start = datetime.max.replace(tzinfo=shift_start.tzinfo)
    for sequence, stop in enumerate(route.stops):
        shipment = shipments[UUID(stop.shipment_id)]
        eta = shift_start + timedelta(seconds=stop.start_s)
        is_pickup = stop.kind is routing.PlanStopKind.PICKUP
        kind = StopKind.PICKUP if is_pickup else StopKind.DROPOFF
        if is_pickup:
            load += shipment.package_count
            max_load = max(max_load, load)
        else:
            load -= shipment.package_count
            latest_start = min(latest_start, deadlines[shipment.shipment_id] - (eta - depart_at))
        stops.append(
            RouteStop(
                stop_id=stop_id(route_id, kind, shipment.shipment_id),
                sequence=sequence,
                kind=kind,
                shipment_id=shipment.shipment_id,
                order_id=shipment.order_id,
                store_id=shipment.store_id,
                store_name=shipment.store_name,
                location=_geo(shipment.pickup if is_pickup else shipment.dropoff),
                address=shipment.pickup_instructions if is_pickup else shipment.dropoff_address,
                area=shipment.dropoff_area,
                instructions=shipment.pickup_instructions if is_pickup else "",
                labels=list(shipment.labels),
                package_count=shipment.package_count,
                eta=eta,
                deliver_by=shipment.deliver_by,
                deliver_from=None if is_pickup else shipment.deliver_from,
                pin_sha256=None if is_pickup else shipment.pin_sha256,
            )
        )
    return PlannedRoute(
        route_id=route_id,
        stops=tuple(stops),
        depart_at=depart_at,
        latest_start_at=latest_start,
        planned_miles=round(meters_to_miles(route.distance), 2),
        # The driver's job ends with the last drop-off: the drive back is the driver's own.
        planned_minutes=math.ceil(
            (stops[-1].eta + timing.delivery_service - depart_at).total_seconds() / 60
        ),
        max_load=max_load,
    )


def _geo(point: Point) -> GeoPoint:
    return GeoPoint(lat=point.lat, lng=point.lng)
