"""Plans delivery routes: each order is picked up at its store and taken to its customer.

A pickup-and-delivery problem with time windows and capacity (PDPTW), solved with PyVRP. All
times are whole seconds from the shift start; distances are whole units of the travel matrix
(metres for real problems). Nothing here reads the clock or draws random numbers: `now` and the
seed come in. Only PyVRP's stopping criterion reads the clock, so how good a plan is within a
time limit depends on the machine and its load.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import pairwise
from typing import Self

import numpy as np
import pyvrp
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from pyvrp.exceptions import PenaltyBoundWarning
from pyvrp.stop import FirstFeasible, MaxRuntime, MultipleCriteria, StoppingCriterion

from shared.geo import Point, TravelModel

MIN_BLOCK = timedelta(hours=2)
MAX_BLOCK = timedelta(hours=4)

# PyVRP's own "no limit" for time windows and durations.
_UNBOUNDED = int(np.iinfo(np.int64).max)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TravelMatrix(_Frozen):
    """Distance and duration (seconds) from row location to column location."""

    distance: tuple[tuple[int, ...], ...]
    duration: tuple[tuple[int, ...], ...]

    @model_validator(mode="after")
    def _square_and_non_negative(self) -> Self:
        size = len(self.distance)
        for matrix in (self.distance, self.duration):
            if len(matrix) != size or any(len(row) != size for row in matrix):
                raise ValueError("distance and duration must be square and of the same size")
            if min((min(row) for row in matrix if row), default=0) < 0:
                raise ValueError("distances and durations must not be negative")
        return self

    @property
    def size(self) -> int:
        return len(self.distance)


class VehicleType(_Frozen):
    """`count` identical drivers who leave `depot` and come back to it."""

    id: str = "driver"
    count: int = Field(ge=1)
    capacity: int = Field(gt=0)
    depot: int = Field(0, ge=0)
    earliest_start_s: int = Field(0, ge=0)
    latest_end_s: int | None = Field(None, ge=0)
    # A block: departure to return, waiting included.
    max_duration_s: int | None = Field(None, gt=0)
    # Charged once per route: makes the solver prefer fewer drivers over shorter distance.
    fixed_cost: int = Field(0, ge=0)


class Shipment(_Frozen):
    id: str
    pickup: int = Field(ge=0)
    delivery: int = Field(ge=0)
    packages: int = Field(gt=0)
    ready_at_s: int = Field(0, ge=0)
    pickup_by_s: int | None = None
    deliver_from_s: int = Field(0, ge=0)
    deliver_by_s: int | None = None
    pickup_service_s: int = Field(0, ge=0)
    delivery_service_s: int = Field(0, ge=0)
    # In distance units: the solver drops an optional shipment when serving it costs more.
    prize: int = Field(0, ge=0)
    is_required: bool = True

    @model_validator(mode="after")
    def _windows_not_empty(self) -> Self:
        if self.pickup_by_s is not None and self.pickup_by_s < self.ready_at_s:
            raise ValueError(f"shipment {self.id}: pickup_by_s is before ready_at_s")
        if self.deliver_by_s is not None and self.deliver_by_s < self.deliver_from_s:
            raise ValueError(f"shipment {self.id}: deliver_by_s is before deliver_from_s")
        return self


class RoutingProblem(_Frozen):
    matrix: TravelMatrix
    vehicle_types: tuple[VehicleType, ...] = Field(min_length=1)
    shipments: tuple[Shipment, ...]

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        size = self.matrix.size
        if len({v.id for v in self.vehicle_types}) != len(self.vehicle_types):
            raise ValueError("vehicle type ids must be unique")
        if len({s.id for s in self.shipments}) != len(self.shipments):
            raise ValueError("shipment ids must be unique")
        if any(v.depot >= size for v in self.vehicle_types):
            raise ValueError("a vehicle depot is outside the travel matrix")
        if any(max(s.pickup, s.delivery) >= size for s in self.shipments):
            raise ValueError("a shipment location is outside the travel matrix")
        return self


class StopKind(StrEnum):
    PICKUP = "pickup"
    DELIVERY = "delivery"


class Stop(_Frozen):
    kind: StopKind
    shipment_id: str
    location: int
    arrival_s: int
    # Service starts at max(arrival, window opening): the driver waits when early.
    start_s: int


class Route(_Frozen):
    vehicle_type: str
    start_s: int
    end_s: int
    stops: tuple[Stop, ...]
    distance: int
    duration_s: int


class Method(StrEnum):
    PYVRP = "pyvrp"
    GREEDY = "greedy"


class RoutingSolution(_Frozen):
    routes: tuple[Route, ...]
    dropped: tuple[str, ...]
    method: Method
    # Fixed vehicle costs + distance + prizes of the dropped optional shipments.
    objective: int


class DeliveryOrder(_Frozen):
    """An order as dispatch knows it: ready at a store, promised to a customer."""

    id: str
    store: Point
    customer: Point
    packages: int = Field(gt=0)
    ready_at: AwareDatetime
    deliver_by: AwareDatetime
    is_required: bool = False
    # A scheduled window's opening: the drop-off waits for it. None: as soon as possible.
    deliver_from: AwareDatetime | None = None


class Fleet(_Frozen):
    drivers: int = Field(ge=1)
    capacity: int = Field(gt=0)
    block: timedelta
    latest_return: AwareDatetime | None = None
    fixed_cost: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _block_in_range(self) -> Self:
        if not MIN_BLOCK <= self.block <= MAX_BLOCK:
            raise ValueError(f"block must be between {MIN_BLOCK} and {MAX_BLOCK}")
        return self


def urgency_prize(
    deliver_by: datetime,
    now: datetime,
    *,
    base: int = 100_000,
    max_factor: int = 10,
    horizon: timedelta = timedelta(hours=8),
) -> int:
    """Prize for serving an optional order, in metres of driving it is worth.

    `base` for a promise `horizon` or more away, rising linearly to `base * max_factor` when the
    promise is due now or already missed, so that when not every order fits, the solver drops
    those whose promise is furthest away.
    """
    slack = (deliver_by - now) / horizon
    nearness = min(1.0, max(0.0, 1.0 - slack))
    return round(base * (1 + (max_factor - 1) * nearness))


def build_travel_matrix(points: Sequence[Point], travel: TravelModel) -> TravelMatrix:
    size = len(points)
    distance = [[0] * size for _ in range(size)]
    duration = [[0] * size for _ in range(size)]
    # The travel model is symmetric (great-circle based): half the pairs give the whole matrix.
    # Durations are rounded up so that a plan feasible in whole seconds is feasible in time.
    for i in range(size):
        for j in range(i + 1, size):
            a, b = points[i], points[j]
            distance[i][j] = distance[j][i] = round(travel.road_meters(a, b))
            duration[i][j] = duration[j][i] = math.ceil(travel.travel_seconds(a, b))
    return TravelMatrix(distance=tuple(map(tuple, distance)), duration=tuple(map(tuple, duration)))


def build_problem(
    mall: Point,
    orders: Sequence[DeliveryOrder],
    fleet: Fleet,
    *,
    shift_start: datetime,
    now: datetime,
    travel: TravelModel,
    pickup_service_s: int = 60,
    delivery_service_s: int = 180,
) -> RoutingProblem:
    """The problem of one mall: drivers start and end at the mall, location 0.

    Orders not marked required are optional with an `urgency_prize`. An order whose promise is
    already missed gets a delivery window closing at the shift start, so it is dropped (and
    listed) rather than planned late without anyone deciding so.
    """
    points: list[Point] = [mall]
    index: dict[Point, int] = {mall: 0}

    def locate(point: Point) -> int:
        if point not in index:
            index[point] = len(points)
            points.append(point)
        return index[point]

    def seconds_after_start(at: datetime) -> int:
        return max(0, math.floor((at - shift_start).total_seconds()))

    shipments = tuple(
        Shipment(
            id=order.id,
            pickup=locate(order.store),
            delivery=locate(order.customer),
            packages=order.packages,
            ready_at_s=math.ceil(max(0.0, (order.ready_at - shift_start).total_seconds())),
            deliver_from_s=0
            if order.deliver_from is None
            else min(
                seconds_after_start(order.deliver_from), seconds_after_start(order.deliver_by)
            ),
            deliver_by_s=seconds_after_start(order.deliver_by),
            pickup_service_s=pickup_service_s,
            delivery_service_s=delivery_service_s,
            prize=0 if order.is_required else urgency_prize(order.deliver_by, now),
            is_required=order.is_required,
        )
        for order in orders
    )
    vehicles = VehicleType(
        count=fleet.drivers,
        capacity=fleet.capacity,
        latest_end_s=None
        if fleet.latest_return is None
        else seconds_after_start(fleet.latest_return),
        max_duration_s=int(fleet.block.total_seconds()),
        fixed_cost=fleet.fixed_cost,
    )
    return RoutingProblem(
        matrix=build_travel_matrix(points, travel),
        vehicle_types=(vehicles,),
        shipments=shipments,
    )


def bound_total_distance(matrix: TravelMatrix, stop_count: int, vehicle_count: int) -> int:
    """An upper bound on the distance of any plan: a fixed vehicle cost above it ranks plans by
    vehicles first, then distance (the Li & Lim objective)."""
    longest = max((max(row) for row in matrix.distance), default=0)
    return longest * (stop_count + vehicle_count)


def solve(problem: RoutingProblem, *, time_limit_s: float, seed: int) -> RoutingSolution:
    """Plans with PyVRP within about `time_limit_s` seconds of search, or, when PyVRP found no
    feasible plan in that time, by greedy insertion.

    The limit bounds PyVRP's search loop; building its model and first local search come on
    top (about 0.1 s of CPU for a mall's afternoon of 250 orders).
    """
    # PyVRP rejects a shipment due before it is ready; no plan could serve it anyway.
    plannable = [s for s in problem.shipments if _deadline(s) >= s.ready_at_s]
    if not plannable:
        return _solution(problem, (), Method.PYVRP)
    data = _to_pyvrp(problem, plannable)
    if (
        len(problem.vehicle_types) == 1
        and problem.vehicle_types[0].fixed_cost > 0
        and all(s.is_required for s in problem.shipments)
    ):
        best = _search_with_fewer_vehicles(data, time_limit_s, seed)
    else:
        best = _search(data, MaxRuntime(time_limit_s), seed).best
    if not best.is_feasible():
        return solve_greedy(problem)
    routes = tuple(_from_pyvrp(problem, plannable, route) for route in best.routes())
    return _solution(problem, routes, Method.PYVRP)


# Shares of the time limit: the first plan, each attempt with one vehicle fewer, and the point
# after which only the final improvement runs.
_FIRST_SHARE = 0.2
_ATTEMPT_SHARE = 0.2
_REDUCTION_END_SHARE = 0.7


def _search(
    data: pyvrp.ProblemData,
    stop: StoppingCriterion,
    seed: int,
    start: pyvrp.Solution | None = None,
) -> pyvrp.Result:
    return pyvrp.solve(
        data, stop=stop, seed=seed, collect_stats=False, display=False, initial_solution=start
    )


def _search_with_fewer_vehicles(
    data: pyvrp.ProblemData, time_limit_s: float, seed: int
) -> pyvrp.Solution:
    """When vehicles cost, repeatedly takes the best plan's smallest route away and asks PyVRP
    to fit its shipments into the others: PyVRP's moves rarely empty a route on their own.

    Only for required shipments: with optional ones the plan without the route is feasible at
    once, and PyVRP weighs prizes against vehicles by itself.
    """
    first = _search(data, MaxRuntime(time_limit_s * _FIRST_SHARE), seed)
    spent, best = first.runtime, first.best
    vehicle = data.vehicle_type(0)
    while (
        best.is_feasible() and best.num_routes() > 1 and spent < time_limit_s * _REDUCTION_END_SHARE
    ):
        fewer = data.replace(vehicle_types=[vehicle.replace(num_available=best.num_routes() - 1)])
        kept = sorted(best.routes(), key=pyvrp.Route.num_shipments)[1:]
        budget = min(time_limit_s * _ATTEMPT_SHARE, time_limit_s * _REDUCTION_END_SHARE - spent)
        with warnings.catch_warnings():
            # Expected here: the smaller fleet may well have no feasible plan.
            warnings.simplefilter("ignore", PenaltyBoundWarning)
            attempt = _search(
                fewer,
                MultipleCriteria([FirstFeasible(), MaxRuntime(budget)]),
                seed,
                _rebuild(fewer, kept),
            )
        spent += attempt.runtime
        if not attempt.best.is_feasible() or _cost(attempt.best) >= _cost(best):
            break
        best = attempt.best
    final = _search(
        data, MaxRuntime(max(0.0, time_limit_s - spent)), seed, _rebuild(data, best.routes())
    ).best
    if final.is_feasible() and (not best.is_feasible() or _cost(final) <= _cost(best)):
        return final
    return best


def _rebuild(data: pyvrp.ProblemData, routes: Sequence[pyvrp.Route]) -> pyvrp.Solution:
    return pyvrp.Solution(
        data,
        [
            pyvrp.Route(
                data,
                [pyvrp.Activity(a.type, a.idx) for a in route.schedule() if a.is_shipment()],
                route.vehicle_type(),
            )
            for route in routes
        ],
    )


def _cost(solution: pyvrp.Solution) -> int:
    return int(pyvrp.CostEvaluator([0], 0, 0).cost(solution))


def _to_pyvrp(problem: RoutingProblem, shipments: Sequence[Shipment]) -> pyvrp.ProblemData:
    depot_locations = sorted({v.depot for v in problem.vehicle_types})
    depot_index = {location: i for i, location in enumerate(depot_locations)}
    vehicle_types = [
        pyvrp.VehicleType(
            num_available=v.count,
            capacity=[v.capacity],
            start_depot=depot_index[v.depot],
            end_depot=depot_index[v.depot],
            fixed_cost=v.fixed_cost,
            tw_early=v.earliest_start_s,
            tw_late=_UNBOUNDED if v.latest_end_s is None else v.latest_end_s,
            shift_duration=_UNBOUNDED if v.max_duration_s is None else v.max_duration_s,
            name=v.id,
        )
        for v in problem.vehicle_types
    ]
    pyvrp_shipments = [
        pyvrp.Shipment(
            pickup_location=s.pickup,
            delivery_location=s.delivery,
            pickup_tw_early=s.ready_at_s,
            pickup_tw_late=_UNBOUNDED if s.pickup_by_s is None else s.pickup_by_s,
            pickup_service_duration=s.pickup_service_s,
            delivery_tw_early=s.deliver_from_s,
            delivery_tw_late=_UNBOUNDED if s.deliver_by_s is None else s.deliver_by_s,
            delivery_service_duration=s.delivery_service_s,
            amount=[s.packages],
            prize=s.prize,
            required=s.is_required,
            name=s.id,
        )
        for s in shipments
    ]
    # PyVRP only uses coordinates for plotting; the matrices carry the travel model.
    locations = [pyvrp.Location(x=0.0, y=0.0) for _ in range(problem.matrix.size)]
    return pyvrp.ProblemData(
        locations=locations,
        clients=[],
        depots=[pyvrp.Depot(location=location) for location in depot_locations],
        vehicle_types=vehicle_types,
        # PyVRP's stub spells the array type ndarray[int], which numpy's typing rejects.
        distance_matrices=[np.asarray(problem.matrix.distance, dtype=np.int64)],  # type: ignore[list-item]
        duration_matrices=[np.asarray(problem.matrix.duration, dtype=np.int64)],  # type: ignore[list-item]
        shipments=pyvrp_shipments,
    )


def _from_pyvrp(
    problem: RoutingProblem, shipments: Sequence[Shipment], route: pyvrp.Route
) -> Route:
    stops: list[Stop] = []
    for activity in route.schedule():
        if not activity.is_shipment():
            continue
        shipment = shipments[activity.idx]
        is_pickup = activity.is_pickup()
        stops.append(
            Stop(
                kind=StopKind.PICKUP if is_pickup else StopKind.DELIVERY,
                shipment_id=shipment.id,
                location=shipment.pickup if is_pickup else shipment.delivery,
                arrival_s=activity.start_time - activity.wait_duration,
                start_s=activity.start_time,
            )
        )
    return Route(
        vehicle_type=problem.vehicle_types[route.vehicle_type()].id,
        start_s=route.start_time(),
        end_s=route.end_time(),
        stops=tuple(stops),
        distance=route.distance(),
        duration_s=route.duration(),
    )


def _solution(
    problem: RoutingProblem, routes: tuple[Route, ...], method: Method
) -> RoutingSolution:
    served = {stop.shipment_id for route in routes for stop in route.stops}
    dropped = tuple(s.id for s in problem.shipments if s.id not in served)
    fixed = {v.id: v.fixed_cost for v in problem.vehicle_types}
    prizes = {s.id: s.prize for s in problem.shipments if not s.is_required}
    objective = sum(fixed[route.vehicle_type] + route.distance for route in routes) + sum(
        prizes.get(shipment_id, 0) for shipment_id in dropped
    )
    return RoutingSolution(routes=routes, dropped=dropped, method=method, objective=objective)


# Greedy insertion: the answer when PyVRP has none. A visit is (shipment index, is_pickup).
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
            _deadline(problem.shipments[i]),
            -problem.shipments[i].prize,
            i,
        ),
    )
    for shipment_index in order:
        _insert_cheapest(problem, slots, shipment_index)
    routes = tuple(
        _greedy_route(problem, type_index, visits) for type_index, visits in slots if visits
    )
    return _solution(problem, routes, Method.GREEDY)


def _deadline(shipment: Shipment) -> int:
    return _UNBOUNDED if shipment.deliver_by_s is None else shipment.deliver_by_s


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
    waited, slack = 0, _UNBOUNDED
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
    return _UNBOUNDED if latest is None else latest


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
            kind=StopKind.PICKUP if is_pickup else StopKind.DELIVERY,
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
