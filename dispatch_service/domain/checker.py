"""Checks a routing plan against its problem, trusting nothing the solver reported.

Loads, times, distances and durations are recomputed from the problem's matrix and the order of
the stops; the solver's own figures are only compared against them. The schedule is the
earliest one from the route's reported departure: drivers wait when early, never serve late.
"""

from __future__ import annotations

from collections import Counter

from dispatch_service.domain.routing import (
    PlanStopKind,
    Route,
    RoutingProblem,
    RoutingSolution,
    Shipment,
    VehicleType,
)


def check(problem: RoutingProblem, solution: RoutingSolution) -> list[str]:
    """Every violation found; an empty list means the plan is feasible."""
    violations: list[str] = []
    shipments = {s.id: s for s in problem.shipments}
    vehicles = {v.id: v for v in problem.vehicle_types}

    routes_used = Counter(route.vehicle_type for route in solution.routes)
    for type_id, used in sorted(routes_used.items()):
        if type_id not in vehicles:
            violations.append(f"routes use unknown vehicle type {type_id!r}")
        elif used > vehicles[type_id].count:
            violations.append(
                f"{used} routes of vehicle type {type_id!r}, only {vehicles[type_id].count} exist"
            )

    # shipment id -> where it was picked up and delivered: (route index, stop index)
    pickups: dict[str, list[tuple[int, int]]] = {}
    deliveries: dict[str, list[tuple[int, int]]] = {}
    for route_index, route in enumerate(solution.routes):
        for stop_index, stop in enumerate(route.stops):
            seen = pickups if stop.kind is PlanStopKind.PICKUP else deliveries
            seen.setdefault(stop.shipment_id, []).append((route_index, stop_index))
            shipment = shipments.get(stop.shipment_id)
            if shipment is None:
                violations.append(f"route {route_index} visits unknown shipment {stop.shipment_id}")
            elif stop.location != _location(shipment, stop.kind):
                violations.append(
                    f"route {route_index} stop {stop_index}: {stop.kind} of {shipment.id} at "
                    f"location {stop.location}, expected {_location(shipment, stop.kind)}"
                )

    for shipment in problem.shipments:
        violations += _check_pairing(
            shipment, pickups.get(shipment.id, []), deliveries.get(shipment.id, [])
        )

    served = set(pickups) | set(deliveries)
    dropped = Counter(solution.dropped)
    for shipment_id, times in sorted(dropped.items()):
        if times > 1:
            violations.append(f"{shipment_id} listed {times} times as dropped")
        if shipment_id not in shipments:
            violations.append(f"unknown shipment {shipment_id} listed as dropped")
        if shipment_id in served:
            violations.append(f"{shipment_id} listed as dropped but visited")
    for shipment in problem.shipments:
        if shipment.id not in served and shipment.id not in dropped:
            violations.append(f"{shipment.id} neither served nor listed as dropped")

    for route_index, route in enumerate(solution.routes):
        vehicle = vehicles.get(route.vehicle_type)
        if vehicle is not None and all(stop.shipment_id in shipments for stop in route.stops):
            where = f"route {route_index}"
            violations += _check_load(vehicle, shipments, where, route)
            violations += _check_times(problem, vehicle, shipments, where, route)

    objective = sum(
        vehicles[route.vehicle_type].fixed_cost + route.distance
        for route in solution.routes
        if route.vehicle_type in vehicles
    ) + sum(
        shipments[shipment_id].prize
        for shipment_id in dropped
        if shipment_id in shipments and not shipments[shipment_id].is_required
    )
    if objective != solution.objective:
        violations.append(f"reported objective {solution.objective}, recomputed {objective}")
    return violations


def _location(shipment: Shipment, kind: PlanStopKind) -> int:
    return shipment.pickup if kind is PlanStopKind.PICKUP else shipment.delivery


def _check_pairing(
    shipment: Shipment, pickups: list[tuple[int, int]], deliveries: list[tuple[int, int]]
) -> list[str]:
    if len(pickups) > 1 or len(deliveries) > 1:
        return [f"{shipment.id} picked up {len(pickups)} times, delivered {len(deliveries)} times"]
    if not pickups and not deliveries:
        return [f"required {shipment.id} not served"] if shipment.is_required else []
    if not pickups or not deliveries:
        missing = "pickup" if not pickups else "delivery"
        return [f"{shipment.id} has no {missing}"]
    (pickup_route, pickup_stop), (delivery_route, delivery_stop) = pickups[0], deliveries[0]
    if pickup_route != delivery_route:
        return [
            f"{shipment.id} picked up on route {pickup_route}, delivered on route {delivery_route}"
        ]
    if pickup_stop > delivery_stop:
        return [f"{shipment.id} delivered before it is picked up on route {pickup_route}"]
    return []


def _check_load(
    vehicle: VehicleType, shipments: dict[str, Shipment], where: str, route: Route
) -> list[str]:
    violations: list[str] = []
    load = 0
    for stop_index, stop in enumerate(route.stops):
        packages = shipments[stop.shipment_id].packages
        load += packages if stop.kind is PlanStopKind.PICKUP else -packages
        if load > vehicle.capacity:
            violations.append(
                f"{where} stop {stop_index}: {load} packages on board, capacity {vehicle.capacity}"
            )
    return violations


def _check_times(
    problem: RoutingProblem,
    vehicle: VehicleType,
    shipments: dict[str, Shipment],
    where: str,
    route: Route,
) -> list[str]:
    duration = problem.matrix.duration
    distance = problem.matrix.distance
    violations: list[str] = []
    if route.start_s < vehicle.earliest_start_s:
        violations.append(f"{where} leaves at {route.start_s}, before {vehicle.earliest_start_s}")

    here, now, travelled = vehicle.depot, route.start_s, 0
    for stop_index, stop in enumerate(route.stops):
        shipment = shipments[stop.shipment_id]
        is_pickup = stop.kind is PlanStopKind.PICKUP
        arrival = now + duration[here][stop.location]
        travelled += distance[here][stop.location]
        opens = shipment.ready_at_s if is_pickup else shipment.deliver_from_s
        closes = shipment.pickup_by_s if is_pickup else shipment.deliver_by_s
        start = max(arrival, opens)
        if closes is not None and start > closes:
            violations.append(
                f"{where} stop {stop_index}: {stop.kind} of {shipment.id} starts at {start}, "
                f"window closes at {closes}"
            )
        if (stop.arrival_s, stop.start_s) != (arrival, start):
            violations.append(
                f"{where} stop {stop_index}: reported arrival/start "
                f"{stop.arrival_s}/{stop.start_s}, recomputed {arrival}/{start}"
            )
        now = start + (shipment.pickup_service_s if is_pickup else shipment.delivery_service_s)
        here = stop.location
    end = now + duration[here][vehicle.depot]
    travelled += distance[here][vehicle.depot]

    if vehicle.latest_end_s is not None and end > vehicle.latest_end_s:
        violations.append(f"{where} returns at {end}, after {vehicle.latest_end_s}")
    if vehicle.max_duration_s is not None and end - route.start_s > vehicle.max_duration_s:
        violations.append(
            f"{where} lasts {end - route.start_s} s, longer than {vehicle.max_duration_s} s"
        )
    if (route.end_s, route.duration_s, route.distance) != (end, end - route.start_s, travelled):
        violations.append(
            f"{where}: reported end/duration/distance "
            f"{route.end_s}/{route.duration_s}/{route.distance}, "
            f"recomputed {end}/{end - route.start_s}/{travelled}"
        )
    return violations
