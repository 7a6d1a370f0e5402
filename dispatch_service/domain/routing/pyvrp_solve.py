"""Solving a routing problem with PyVRP, with as few vehicles as it can within the time limit."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pyvrp
from pyvrp.exceptions import PenaltyBoundWarning
from pyvrp.stop import FirstFeasible, MaxRuntime, MultipleCriteria, StoppingCriterion

from dispatch_service.domain.routing.greedy import solve_greedy
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


def solve(problem: RoutingProblem, *, time_limit_s: float, seed: int) -> RoutingSolution:
    """Plans with PyVRP within about `time_limit_s` seconds of search, or, when PyVRP found no
    feasible plan in that time, by greedy insertion.

    The limit bounds PyVRP's search loop; building its model and first local search come on
    top (about 0.1 s of CPU for a mall's afternoon of 250 orders).
    """
    # PyVRP rejects a shipment due before it is ready; no plan could serve it anyway.
    plannable = [s for s in problem.shipments if deadline_of(s) >= s.ready_at_s]
    if not plannable:
        return solution_of(problem, (), Method.PYVRP)
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
    return solution_of(problem, routes, Method.PYVRP)


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
            tw_late=UNBOUNDED if v.latest_end_s is None else v.latest_end_s,
            shift_duration=UNBOUNDED if v.max_duration_s is None else v.max_duration_s,
            name=v.id,
        )
        for v in problem.vehicle_types
    ]
    pyvrp_shipments = [
        pyvrp.Shipment(
            pickup_location=s.pickup,
            delivery_location=s.delivery,
            pickup_tw_early=s.ready_at_s,
            pickup_tw_late=UNBOUNDED if s.pickup_by_s is None else s.pickup_by_s,
            pickup_service_duration=s.pickup_service_s,
            delivery_tw_early=s.deliver_from_s,
            delivery_tw_late=UNBOUNDED if s.deliver_by_s is None else s.deliver_by_s,
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
                kind=PlanStopKind.PICKUP if is_pickup else PlanStopKind.DELIVERY,
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
