"""Plans delivery routes: each order is picked up at its store and taken to its customer.

A pickup-and-delivery problem with time windows and capacity (PDPTW), solved with PyVRP. All
times are whole seconds from the shift start; distances are whole units of the travel matrix
(metres for real problems). Nothing here reads the clock or draws random numbers: `now` and the
seed come in. Only PyVRP's stopping criterion reads the clock, so how good a plan is within a
time limit depends on the machine and its load.

model.py holds the problem and solution, pyvrp_solve.py the PyVRP solve, greedy.py the fallback.
"""

from dispatch_service.domain.routing.greedy import solve_greedy
from dispatch_service.domain.routing.model import (
    MAX_BLOCK,
    MIN_BLOCK,
    DeliveryOrder,
    Fleet,
    Method,
    PlanStopKind,
    Route,
    RoutingProblem,
    RoutingSolution,
    Shipment,
    Stop,
    TravelMatrix,
    VehicleType,
    bound_total_distance,
    build_problem,
    build_travel_matrix,
    urgency_prize,
)
from dispatch_service.domain.routing.pyvrp_solve import solve

__all__ = [
    "MAX_BLOCK",
    "MIN_BLOCK",
    "DeliveryOrder",
    "Fleet",
    "Method",
    "PlanStopKind",
    "Route",
    "RoutingProblem",
    "RoutingSolution",
    "Shipment",
    "Stop",
    "TravelMatrix",
    "VehicleType",
    "bound_total_distance",
    "build_problem",
    "build_travel_matrix",
    "solve",
    "solve_greedy",
    "urgency_prize",
]
