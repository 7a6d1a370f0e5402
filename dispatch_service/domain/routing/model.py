"""The routing problem and its solution as plain models, and how a problem is built from a
mall's shipments and fleet.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Self

import numpy as np
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from shared.geo import Point, TravelModel

MIN_BLOCK = timedelta(hours=2)
MAX_BLOCK = timedelta(hours=4)

# PyVRP's own "no limit" for time windows and durations.
UNBOUNDED = int(np.iinfo(np.int64).max)


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


class PlanStopKind(StrEnum):
    PICKUP = "pickup"
    DELIVERY = "delivery"


class Stop(_Frozen):
    kind: PlanStopKind
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


def solution_of(
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


def deadline_of(shipment: Shipment) -> int:
    return UNBOUNDED if shipment.deliver_by_s is None else shipment.deliver_by_s
