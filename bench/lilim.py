"""Li & Lim PDPTW instances: reading them, turning them into routing problems, and measuring plans
in the benchmark's own terms (Euclidean distance in double precision)."""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dispatch_service.domain.routing import (
    RoutingProblem,
    RoutingSolution,
    Shipment,
    TravelMatrix,
    VehicleType,
    bound_total_distance,
)

DATA_DIR = Path(__file__).parent / "data" / "lilim"
BKS_PATH = DATA_DIR / "bks.csv"
# Whole units of the matrix per unit of the instance: times and distances are doubles.
SCALE = 1000


@dataclass(frozen=True, slots=True)
class Node:
    id: int
    x: float
    y: float
    demand: int
    earliest: int
    latest: int
    service: int
    pickup: int
    delivery: int


@dataclass(frozen=True, slots=True)
class Instance:
    name: str
    vehicles: int
    capacity: int
    nodes: tuple[Node, ...]

    def distance(self, a: int, b: int) -> float:
        return math.hypot(self.nodes[a].x - self.nodes[b].x, self.nodes[a].y - self.nodes[b].y)


@dataclass(frozen=True, slots=True)
class BestKnown:
    vehicles: int
    distance: float


def parse_instance(name: str, text: str) -> Instance:
    lines = [line.split() for line in text.splitlines() if line.strip()]
    vehicles, capacity, _speed = lines[0]
    nodes = tuple(
        Node(
            id=int(fields[0]),
            x=float(fields[1]),
            y=float(fields[2]),
            demand=int(fields[3]),
            earliest=int(fields[4]),
            latest=int(fields[5]),
            service=int(fields[6]),
            pickup=int(fields[7]),
            delivery=int(fields[8]),
        )
        for fields in lines[1:]
    )
    for index, node in enumerate(nodes):
        if node.id != index:
            raise ValueError(f"{name}: node on line {index + 2} has id {node.id}")
        if node.demand > 0 and nodes[node.delivery].pickup != node.id:
            raise ValueError(f"{name}: pickup {node.id} and its delivery do not name each other")
    return Instance(name=name, vehicles=int(vehicles), capacity=int(capacity), nodes=nodes)


def read_instance(path: Path) -> Instance:
    return parse_instance(path.stem, path.read_text())


def read_bks(path: Path) -> dict[str, BestKnown]:
    with path.open(newline="") as f:
        return {
            row["instance"]: BestKnown(int(row["vehicles"]), float(row["distance"]))
            for row in csv.DictReader(f)
        }


def instance_paths(tasks: int) -> list[Path]:
    """The shipped instances of 100 tasks (`lc101`...) or 200 tasks (`lc1_2_1`...)."""
    paths = sorted(DATA_DIR.glob("*.txt"))
    return [p for p in paths if ("_2_" in p.stem) == (tasks == 200)]


def to_problem(instance: Instance) -> RoutingProblem:
    """Locations are node ids. Distances are rounded, durations rounded up, so a plan feasible
    in whole units is feasible in double precision too."""
    size = len(instance.nodes)
    exact = [[instance.distance(a, b) * SCALE for b in range(size)] for a in range(size)]
    matrix = TravelMatrix(
        distance=tuple(tuple(round(d) for d in row) for row in exact),
        duration=tuple(tuple(math.ceil(d) for d in row) for row in exact),
    )
    shipments = tuple(
        Shipment(
            id=str(node.id),
            pickup=node.id,
            delivery=node.delivery,
            packages=node.demand,
            ready_at_s=node.earliest * SCALE,
            pickup_by_s=node.latest * SCALE,
            deliver_from_s=instance.nodes[node.delivery].earliest * SCALE,
            deliver_by_s=instance.nodes[node.delivery].latest * SCALE,
            pickup_service_s=node.service * SCALE,
            delivery_service_s=instance.nodes[node.delivery].service * SCALE,
        )
        for node in instance.nodes
        if node.demand > 0
    )
    depot = instance.nodes[0]
    vehicles = VehicleType(
        id="vehicle",
        count=instance.vehicles,
        capacity=instance.capacity,
        earliest_start_s=depot.earliest * SCALE,
        latest_end_s=depot.latest * SCALE,
        fixed_cost=bound_total_distance(matrix, 2 * len(shipments), instance.vehicles) + 1,
    )
    return RoutingProblem(matrix=matrix, vehicle_types=(vehicles,), shipments=shipments)


def node_routes(solution: RoutingSolution) -> list[list[int]]:
    return [[stop.location for stop in route.stops] for route in solution.routes]


def total_distance(instance: Instance, routes: Sequence[Sequence[int]]) -> float:
    return sum(
        instance.distance(a, b)
        for route in routes
        for a, b in zip([0, *route], [*route, 0], strict=True)
    )


def exact_violations(instance: Instance, routes: Sequence[Sequence[int]]) -> list[str]:
    """Coverage, precedence, capacity and time windows in double precision, on node sequences:
    what the benchmark itself checks, independently of any rounding in the matrix."""
    violations: list[str] = []
    position = {
        node_id: (route_index, stop_index)
        for route_index, route in enumerate(routes)
        for stop_index, node_id in enumerate(route)
    }
    if sorted(position) != list(range(1, len(instance.nodes))) or len(position) != sum(
        len(route) for route in routes
    ):
        violations.append("not every task node visited exactly once")
    for node in instance.nodes:
        if node.demand > 0 and node.id in position and node.delivery in position:
            (pickup_route, pickup_stop) = position[node.id]
            (delivery_route, delivery_stop) = position[node.delivery]
            if pickup_route != delivery_route or pickup_stop > delivery_stop:
                violations.append(f"pickup {node.id} not before its delivery on one route")
    depot = instance.nodes[0]
    for route_index, route in enumerate(routes):
        here, now, load = 0, float(depot.earliest), 0
        for node_id in route:
            node = instance.nodes[node_id]
            now = max(now + instance.distance(here, node_id), node.earliest)
            load += node.demand
            if now > node.latest:
                violations.append(f"route {route_index}: node {node_id} at {now:.4f}")
            if load > instance.capacity:
                violations.append(f"route {route_index}: load {load} at node {node_id}")
            now += node.service
            here = node_id
        if now + instance.distance(here, 0) > depot.latest:
            violations.append(f"route {route_index}: back at depot after {depot.latest}")
    return violations
