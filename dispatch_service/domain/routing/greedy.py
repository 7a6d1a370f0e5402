"""Greedy cheapest insertion: the answer when PyVRP has none. A visit is (shipment index,
is_pickup).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from dispatch_service.domain.routing.model import (
    UNBOUNDED,
    Method,
    PlanStopKind,
    Route,
    RoutingProblem,
    RoutingSolution,
    Shipment,
    Stop,
    deadline_of,
    solution_of,
)

_Visit = tuple[int, bool]


@dataclass(frozen=True, slots=True)
class _Timing:
    depart: int
    arrivals: list[int]
    starts: list[int]
    end: int


def solve_greedy(problem: RoutingProblem) -> RoutingSolution:
    """Cheapest feasible insertion, required shipments first, then by deadline and prize.

    Whatever cannot be inserted is dropped, required or not: the caller sees it in `dropped`.
    """
    slots: list[tuple[int, list[_Visit]]] = [
        (type_index, [])
        for type_index, vehicle in enumerate(problem.vehicle_types)
        for _ in range(vehicle.count)
    ]
    order = sorted(
        range(len(problem.shipments)),
        key=lambda i: (
            not problem.shipments[i].is_required,
            deadline_of(problem.shipments[i]),
            -problem.shipments[i].prize,
            i,
        ),
    )
    for shipment_index in order:
        _insert_cheapest(problem, slots, shipment_index)
    routes = tuple(
        _greedy_route(problem, type_index, visits) for type_index, visits in slots if visits
    )
    return solution_of(problem, routes, Method.GREEDY)


def _insert_cheapest(
    problem: RoutingProblem, slots: list[tuple[int, list[_Visit]]], shipment_index: int
) -> None:
    shipment = problem.shipments[shipment_index]
    distance = problem.matrix.distance
    candidates: list[tuple[int, int, int, int]] = []
    tried_empty: set[int] = set()
    for slot_index, (type_index, visits) in enumerate(slots):
        if not visits:
            # Empty routes of one type are interchangeable: trying one is enough.
            if type_index in tried_empty:
                continue
            tried_empty.add(type_index)
        depot = problem.vehicle_types[type_index].depot
        locations = [depot, *(_location(problem, visit) for visit in visits), depot]
        for i in range(len(visits) + 1):
            for j in range(i, len(visits) + 1):
                if i == j:
                    added = (
                        distance[locations[i]][shipment.pickup]
                        + distance[shipment.pickup][shipment.delivery]
                        + distance[shipment.delivery][locations[i + 1]]
                        - distance[locations[i]][locations[i + 1]]
                    )
                else:
                    added = (
                        distance[locations[i]][shipment.pickup]
                        + distance[shipment.pickup][locations[i + 1]]
                        - distance[locations[i]][locations[i + 1]]
                        + distance[locations[j]][shipment.delivery]
                        + distance[shipment.delivery][locations[j + 1]]
                        - distance[locations[j]][locations[j + 1]]
                    )
                if not visits:
                    added += problem.vehicle_types[type_index].fixed_cost
                candidates.append((added, slot_index, i, j))
    for added, slot_index, i, j in sorted(candidates):
        if not shipment.is_required and added > shipment.prize:
            return
        type_index, visits = slots[slot_index]
        trial = [*visits[:i], (shipment_index, True), *visits[i:j], (shipment_index, False)]
        trial += visits[j:]
        if _fits(problem, type_index, trial):
            visits[:] = trial
            return


def _location(problem: RoutingProblem, visit: _Visit) -> int:
    shipment = problem.shipments[visit[0]]
    return shipment.pickup if visit[1] else shipment.delivery


def _fits(problem: RoutingProblem, type_index: int, visits: list[_Visit]) -> bool:
    vehicle = problem.vehicle_types[type_index]
    load = 0
    for shipment_index, is_pickup in visits:
        packages = problem.shipments[shipment_index].packages
        load += packages if is_pickup else -packages
        if load > vehicle.capacity:
            return False
    return _time(problem, type_index, visits) is not None


def _time(problem: RoutingProblem, type_index: int, visits: list[_Visit]) -> _Timing | None:
    vehicle = problem.vehicle_types[type_index]
    first = _forward(problem, type_index, visits, vehicle.earliest_start_s)
    if first is None:
        return None
    # Leave as late as the windows allow, so that waiting does not eat into the block: a later
    # departure first uses up the waits before a stop, then pushes the stop itself.
    waited, slack = 0, UNBOUNDED
    for index, (shipment_index, is_pickup) in enumerate(visits):
        waited += first.starts[index] - first.arrivals[index]
        latest = _latest(problem.shipments[shipment_index], is_pickup)
        slack = min(slack, waited + latest - first.starts[index])
    delay = min(slack, waited)
    timing = _forward(problem, type_index, visits, vehicle.earliest_start_s + delay)
    if timing is None:
        return None
    if vehicle.max_duration_s is not None and timing.end - timing.depart > vehicle.max_duration_s:
        return None
    return timing


def _latest(shipment: Shipment, is_pickup: bool) -> int:
    latest = shipment.pickup_by_s if is_pickup else shipment.deliver_by_s
    return UNBOUNDED if latest is None else latest


def _forward(
    problem: RoutingProblem, type_index: int, visits: list[_Visit], depart: int
) -> _Timing | None:
    vehicle = problem.vehicle_types[type_index]
    duration = problem.matrix.duration
    here, now = vehicle.depot, depart
    arrivals: list[int] = []
    starts: list[int] = []
    for shipment_index, is_pickup in visits:
        shipment = problem.shipments[shipment_index]
        there = shipment.pickup if is_pickup else shipment.delivery
        arrival = now + duration[here][there]
        start = max(arrival, shipment.ready_at_s if is_pickup else shipment.deliver_from_s)
        if start > _latest(shipment, is_pickup):
            return None
        arrivals.append(arrival)
        starts.append(start)
        now = start + (shipment.pickup_service_s if is_pickup else shipment.delivery_service_s)
        here = there
    end = now + duration[here][vehicle.depot]
    if vehicle.latest_end_s is not None and end > vehicle.latest_end_s:
        return None
    return _Timing(depart, arrivals, starts, end)


def _greedy_route(problem: RoutingProblem, type_index: int, visits: list[_Visit]) -> Route:
    timing = _time(problem, type_index, visits)
    if timing is None:
        raise AssertionError("greedy kept a route it had not checked")
    vehicle = problem.vehicle_types[type_index]
    locations = [vehicle.depot, *(_location(problem, visit) for visit in visits), vehicle.depot]
    stops = tuple(
        Stop(
            kind=PlanStopKind.PICKUP if is_pickup else PlanStopKind.DELIVERY,
            shipment_id=problem.shipments[shipment_index].id,
            location=locations[index + 1],
            arrival_s=timing.arrivals[index],
            start_s=timing.starts[index],
        )
        for index, (shipment_index, is_pickup) in enumerate(visits)
    )
    return Route(
        vehicle_type=vehicle.id,
        start_s=timing.depart,
        end_s=timing.end,
        stops=stops,
        distance=sum(problem.matrix.distance[a][b] for a, b in pairwise(locations)),
        duration_s=timing.end - timing.depart,
    )
