"""Li & Lim PDPTW benchmark: the dispatch solver, and OR-Tools as a peer when it is installed,
against the best-known solutions.

    python -m bench.pdptw [--bks BKS.csv] [--set {100,200}] [--time-limit S] [--limit N] [FILE...]

Each instance is solved once, sequentially (timings stay honest on a small machine), checked by
the independent checker and again in double precision, and compared with the best-known number
of vehicles and distance. The last line is machine-readable.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.lilim import (
    BKS_PATH,
    BestKnown,
    exact_violations,
    instance_paths,
    node_routes,
    read_bks,
    read_instance,
    to_problem,
    total_distance,
)
from dispatch_service.domain.checker import check
from dispatch_service.domain.routing import RoutingProblem, solve

DEFAULT_TIME_LIMIT_S = {100: 10.0, 200: 30.0}


@dataclass(frozen=True, slots=True)
class Outcome:
    is_feasible: bool
    vehicles: int
    distance: float
    seconds: float

    def gap_pct(self, best: BestKnown) -> float:
        return (self.distance / best.distance - 1) * 100


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, metavar="FILE")
    parser.add_argument("--bks", type=Path, default=BKS_PATH)
    parser.add_argument("--set", type=int, choices=(100, 200), default=100, dest="tasks")
    parser.add_argument("--time-limit", type=float, help="seconds per instance")
    parser.add_argument("--limit", type=int, help="run only the first N instances")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    paths: list[Path] = args.files or instance_paths(args.tasks)
    if args.limit is not None:
        paths = paths[: args.limit]
    time_limit_s: float = args.time_limit or DEFAULT_TIME_LIMIT_S[args.tasks]
    bks = read_bks(args.bks)
    if missing := [p.stem for p in paths if p.stem not in bks]:
        parser.error(f"no best-known solution in {args.bks} for {', '.join(missing)}")
    has_peer = importlib.util.find_spec("ortools") is not None
    print(
        f"{len(paths)} instances, {time_limit_s:g} s each, seed {args.seed}; peer: "
        f"{'OR-Tools' if has_peer else 'none (ortools not installed)'}.\n"
        "Distance in double precision from the returned routes; gap = distance / best-known - 1;"
        " the BENCH gaps are over feasible plans with the best-known vehicle count (or fewer);"
        " seconds = wall clock of one solve, model building included.",
        flush=True,
    )

    ours: list[tuple[BestKnown, Outcome]] = []
    peers: list[tuple[BestKnown, Outcome]] = []
    for number, path in enumerate(paths, 1):
        instance = read_instance(path)
        best = bks[instance.name]
        started = time.perf_counter()
        problem = to_problem(instance)
        solution = solve(problem, time_limit_s=time_limit_s, seed=args.seed)
        seconds = time.perf_counter() - started
        routes = node_routes(solution)
        violations = check(problem, solution) + exact_violations(instance, routes)
        outcome = Outcome(
            is_feasible=not violations,
            vehicles=len(routes),
            distance=total_distance(instance, routes),
            seconds=seconds,
        )
        ours.append((best, outcome))
        line = (
            f"[{number:>3}/{len(paths)}] {instance.name:<9} {_describe(best, outcome)}"
            f" {solution.method}"
        )
        if violations:
            line += f" INFEASIBLE: {violations[0]} ({len(violations)} violations)"
        if has_peer:
            started = time.perf_counter()
            peer_routes = _solve_with_ortools(problem, time_limit_s)
            peer = Outcome(
                is_feasible=peer_routes is not None and not exact_violations(instance, peer_routes),
                vehicles=len(peer_routes or []),
                distance=total_distance(instance, peer_routes or []),
                seconds=time.perf_counter() - started,
            )
            peers.append((best, peer))
            found = "no plan in time" if peer_routes is None else _describe(best, peer)
            line += f" | ortools {found}"
        print(line, flush=True)

    feasible = [(best, o) for best, o in ours if o.is_feasible]
    on_bks_fleet = _on_bks_fleet(ours)
    gaps = _gaps_on_bks_fleet(ours)
    print(
        f"\nfeasible {len(feasible)}/{len(ours)}; best-known vehicle count (or fewer) on "
        f"{len(on_bks_fleet)}; mean gap over all feasible plans, those with more vehicles "
        f"included: {_mean([o.gap_pct(best) for best, o in feasible])} %"
    )
    peer_gaps = _gaps_on_bks_fleet(peers)
    if peers:
        print(
            f"OR-Tools: feasible {sum(o.is_feasible for _, o in peers)}/{len(peers)}; "
            f"best-known vehicle count (or fewer) on {len(_on_bks_fleet(peers))}; mean gap "
            f"there {_mean(peer_gaps)} %"
        )
    print(
        f"BENCH pdptw instances={len(ours)} feasible={len(feasible)}"
        f" bks_vehicles_pct={_pct(len(on_bks_fleet), len(ours))}"
        f" mean_gap_pct={_mean(gaps)} max_gap_pct={_max(gaps)}"
        f" max_seconds={_max([o.seconds for _, o in ours])}"
        f" peer_mean_gap_pct={_mean(peer_gaps) if peers else 'na'}"
    )
    return 0


def _on_bks_fleet(results: list[tuple[BestKnown, Outcome]]) -> list[tuple[BestKnown, Outcome]]:
    return [(b, o) for b, o in results if o.is_feasible and o.vehicles <= b.vehicles]


def _gaps_on_bks_fleet(results: list[tuple[BestKnown, Outcome]]) -> list[float]:
    # A plan with more vehicles than the best-known one may well travel less: its distance
    # compares with nothing, and the vehicle count already counts it as a miss.
    return [o.gap_pct(best) for best, o in _on_bks_fleet(results)]


def _describe(best: BestKnown, outcome: Outcome) -> str:
    if not outcome.is_feasible:
        return f"infeasible {outcome.seconds:5.1f}s"
    return (
        f"veh {outcome.vehicles:>2}/{best.vehicles:<2} "
        f"dist {outcome.distance:9.2f}/{best.distance:<9.2f} "
        f"gap {outcome.gap_pct(best):6.2f}% {outcome.seconds:5.1f}s"
    )


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}" if whole else "na"


def _mean(values: Sequence[float]) -> str:
    return f"{statistics.fmean(values):.2f}" if values else "na"


def _max(values: Sequence[float]) -> str:
    return f"{max(values):.2f}" if values else "na"


def _solve_with_ortools(problem: RoutingProblem, time_limit_s: float) -> list[list[int]] | None:
    """Plain OR-Tools routing on the same integer matrices: pickup and delivery pairs, time
    windows, capacity, the same fixed cost per vehicle; routes as location sequences."""
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    vehicles = problem.vehicle_types[0]
    # OR-Tools wants one node per visit: node 0 is the depot, then each pickup and delivery.
    horizon = vehicles.latest_end_s or 10 * max(max(row) for row in problem.matrix.duration)
    locations = [vehicles.depot]
    opens, closes, services, loads = [vehicles.earliest_start_s], [horizon], [0], [0]
    for s in problem.shipments:
        locations += [s.pickup, s.delivery]
        opens += [s.ready_at_s, s.deliver_from_s]
        closes += [
            horizon if s.pickup_by_s is None else s.pickup_by_s,
            horizon if s.deliver_by_s is None else s.deliver_by_s,
        ]
        services += [s.pickup_service_s, s.delivery_service_s]
        loads += [s.packages, -s.packages]

    manager = pywrapcp.RoutingIndexManager(len(locations), vehicles.count, 0)
    routing = pywrapcp.RoutingModel(manager)

    def node(index: int) -> int:
        return int(manager.IndexToNode(index))

    def distance(from_index: int, to_index: int) -> int:
        return problem.matrix.distance[locations[node(from_index)]][locations[node(to_index)]]

    def duration(from_index: int, to_index: int) -> int:
        a, b = node(from_index), node(to_index)
        return services[a] + problem.matrix.duration[locations[a]][locations[b]]

    def load(index: int) -> int:
        return loads[node(index)]

    routing.SetArcCostEvaluatorOfAllVehicles(routing.RegisterTransitCallback(distance))
    routing.SetFixedCostOfAllVehicles(vehicles.fixed_cost)
    routing.AddDimension(routing.RegisterTransitCallback(duration), horizon, horizon, False, "T")
    times = routing.GetDimensionOrDie("T")
    routing.AddDimension(
        routing.RegisterUnaryTransitCallback(load), 0, vehicles.capacity, True, "Load"
    )
    for visit in range(1, len(locations)):
        times.CumulVar(manager.NodeToIndex(visit)).SetRange(opens[visit], closes[visit])
    for vehicle in range(vehicles.count):
        times.CumulVar(routing.Start(vehicle)).SetRange(opens[0], horizon)
        times.CumulVar(routing.End(vehicle)).SetRange(opens[0], horizon)
    solver = routing.solver()
    for pickup in range(1, len(locations), 2):
        p, d = manager.NodeToIndex(pickup), manager.NodeToIndex(pickup + 1)
        routing.AddPickupAndDelivery(p, d)
        solver.Add(routing.VehicleVar(p) == routing.VehicleVar(d))
        solver.Add(times.CumulVar(p) <= times.CumulVar(d))

    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = (
        routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    )
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    params.time_limit.FromMilliseconds(int(time_limit_s * 1000))
    assignment = routing.SolveWithParameters(params)
    if assignment is None:
        return None
    routes: list[list[int]] = []
    for vehicle in range(vehicles.count):
        index = assignment.Value(routing.NextVar(routing.Start(vehicle)))
        route: list[int] = []
        while not routing.IsEnd(index):
            route.append(locations[node(index)])
            index = assignment.Value(routing.NextVar(index))
        if route:
            routes.append(route)
    return routes


if __name__ == "__main__":
    sys.exit(main())
