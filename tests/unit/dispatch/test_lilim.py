from __future__ import annotations

import pytest

from bench.lilim import (
    DATA_DIR,
    SCALE,
    exact_violations,
    instance_paths,
    node_routes,
    parse_instance,
    read_instance,
    to_problem,
    total_distance,
)
from dispatch_service.domain.checker import check
from dispatch_service.domain.routing import Method, solve

TINY = """\
2 10 1
0 0 0 0 0 100 0 0 0
1 3 4 5 0 50 2 0 2
2 6 8 -5 10 60 3 1 0
"""


def test_the_reader_pairs_each_pickup_with_its_delivery() -> None:
    instance = parse_instance("tiny", TINY)

    problem = to_problem(instance)

    assert (instance.vehicles, instance.capacity, len(instance.nodes)) == (2, 10, 3)
    (shipment,) = problem.shipments
    assert (shipment.pickup, shipment.delivery, shipment.packages) == (1, 2, 5)
    assert (shipment.ready_at_s, shipment.pickup_by_s) == (0, 50 * SCALE)
    assert (shipment.deliver_from_s, shipment.deliver_by_s) == (10 * SCALE, 60 * SCALE)
    assert (shipment.pickup_service_s, shipment.delivery_service_s) == (2 * SCALE, 3 * SCALE)
    assert problem.matrix.distance[0][1] == 5 * SCALE
    assert problem.vehicle_types[0].latest_end_s == 100 * SCALE


def test_the_reader_rejects_a_pickup_whose_delivery_does_not_name_it() -> None:
    broken = TINY.replace("2 6 8 -5 10 60 3 1 0", "2 6 8 -5 10 60 3 0 0")

    with pytest.raises(ValueError, match="do not name each other"):
        parse_instance("broken", broken)


def test_one_vehicle_costs_more_than_any_plan_can_travel() -> None:
    instance = read_instance(DATA_DIR / "lc101.txt")

    problem = to_problem(instance)

    vehicles = problem.vehicle_types[0]
    longest_arc = max(max(row) for row in problem.matrix.distance)
    # Every arc of a plan leaves a stop or the depot: no plan travels further than this.
    most_travel = longest_arc * (2 * len(problem.shipments) + vehicles.count)
    assert vehicles.count == instance.vehicles == 25
    assert vehicles.fixed_cost > most_travel


def test_the_shipped_sets_have_56_and_60_instances() -> None:
    assert (len(instance_paths(100)), len(instance_paths(200))) == (56, 60)


def test_exact_violations_sees_a_delivery_before_its_pickup() -> None:
    instance = parse_instance("tiny", TINY)

    violations = exact_violations(instance, [[2, 1]])

    assert "pickup 1 not before its delivery on one route" in violations


@pytest.mark.parametrize("name", ["lc101", "lr101"])
def test_a_100_task_instance_is_solved_feasibly(name: str) -> None:
    instance = read_instance(DATA_DIR / f"{name}.txt")
    problem = to_problem(instance)

    solution = solve(problem, time_limit_s=3.0, seed=1)

    routes = node_routes(solution)
    assert solution.method is Method.PYVRP
    assert check(problem, solution) == []
    assert exact_violations(instance, routes) == []
    assert len(routes) <= instance.vehicles
    assert total_distance(instance, routes) > 0
