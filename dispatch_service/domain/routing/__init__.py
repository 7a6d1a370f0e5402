"""Plans delivery routes: each order is picked up at its store and taken to its customer.

A pickup-and-delivery problem with time windows and capacity (PDPTW), solved with PyVRP. All
times are whole seconds from the shift start; distances are whole units of the travel matrix
(metres for real problems). Nothing here reads the clock or draws random numbers: `now` and the
seed come in. Only PyVRP's stopping criterion reads the clock, so how good a plan is within a
time limit depends on the machine and its load.

model.py holds the problem and solution, pyvrp_solve.py the PyVRP solve, greedy.py the fallback.
"""

from dispatch_service.domain.routing.greedy import solve_greedy as solve_greedy
from dispatch_service.domain.routing.model import MAX_BLOCK as MAX_BLOCK
from dispatch_service.domain.routing.model import MIN_BLOCK as MIN_BLOCK
from dispatch_service.domain.routing.model import DeliveryOrder as DeliveryOrder
from dispatch_service.domain.routing.model import Fleet as Fleet
from dispatch_service.domain.routing.model import Method as Method
from dispatch_service.domain.routing.model import PlanStopKind as PlanStopKind
from dispatch_service.domain.routing.model import Route as Route
from dispatch_service.domain.routing.model import RoutingProblem as RoutingProblem
from dispatch_service.domain.routing.model import RoutingSolution as RoutingSolution
from dispatch_service.domain.routing.model import Shipment as Shipment
from dispatch_service.domain.routing.model import Stop as Stop
from dispatch_service.domain.routing.model import TravelMatrix as TravelMatrix
from dispatch_service.domain.routing.model import VehicleType as VehicleType
from dispatch_service.domain.routing.model import bound_total_distance as bound_total_distance
from dispatch_service.domain.routing.model import build_problem as build_problem
from dispatch_service.domain.routing.model import build_travel_matrix as build_travel_matrix
from dispatch_service.domain.routing.model import urgency_prize as urgency_prize
from dispatch_service.domain.routing.pyvrp_solve import solve as solve

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
