from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from dispatch_service.domain.checker import check
from dispatch_service.domain.routing import (
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
    solve,
    solve_greedy,
    urgency_prize,
)
from shared.geo import Point, TravelModel

NOON = datetime(2025, 6, 2, 19, 0, tzinfo=UTC)
MALL = Point(36.1272, -115.1706)
# About 0.18 degrees of latitude: 26 km by road, 39 minutes at 40 km/h.
NORTH = Point(36.3072, -115.1706)
SOUTH = Point(35.9472, -115.1706)

# Hand-built problem on a line: mall at 0, store at 10, customer A at 110, customer B at 210.
# One unit of distance takes one second; services take no time.
POSITIONS = (0, 10, 110, 210)
LINE = TravelMatrix(
    distance=tuple(tuple(abs(a - b) for b in POSITIONS) for a in POSITIONS),
    duration=tuple(tuple(abs(a - b) for b in POSITIONS) for a in POSITIONS),
)


def a_line_problem(
    *, drivers: int = 1, max_duration_s: int = 1000, b_deliver_by_s: int = 600
) -> RoutingProblem:
    return RoutingProblem(
        matrix=LINE,
        vehicle_types=(VehicleType(count=drivers, capacity=3, max_duration_s=max_duration_s),),
        shipments=(
            Shipment(id="A", pickup=1, delivery=2, packages=2, deliver_by_s=500),
            Shipment(id="B", pickup=1, delivery=3, packages=2, deliver_by_s=b_deliver_by_s),
        ),
    )


def a_stop(kind: PlanStopKind, shipment_id: str, location: int, at: int) -> Stop:
    return Stop(kind=kind, shipment_id=shipment_id, location=location, arrival_s=at, start_s=at)


PICK_A = a_stop(PlanStopKind.PICKUP, "A", 1, 10)
DROP_A = a_stop(PlanStopKind.DELIVERY, "A", 2, 110)
PICK_B = a_stop(PlanStopKind.PICKUP, "B", 1, 210)
DROP_B = a_stop(PlanStopKind.DELIVERY, "B", 3, 410)


def a_route(*stops: Stop, end_s: int = 620) -> Route:
    return Route(
        vehicle_type="driver",
        start_s=0,
        end_s=end_s,
        stops=stops,
        distance=end_s,
        duration_s=end_s,
    )


def a_solution(*routes: Route, dropped: tuple[str, ...] = ()) -> RoutingSolution:
    return RoutingSolution(
        routes=routes,
        dropped=dropped,
        method=Method.PYVRP,
        objective=sum(route.distance for route in routes),
    )


GOOD = a_solution(a_route(PICK_A, DROP_A, PICK_B, DROP_B))


def test_the_hand_built_plan_is_feasible() -> None:
    assert check(a_line_problem(), GOOD) == []


def test_the_checker_sees_a_delivery_before_its_pickup() -> None:
    plan = a_solution(a_route(DROP_A, PICK_A, PICK_B, DROP_B))

    assert "A delivered before it is picked up on route 0" in check(a_line_problem(), plan)


def test_the_checker_sees_pickup_and_delivery_on_different_routes() -> None:
    plan = a_solution(
        a_route(PICK_A, PICK_B, DROP_B, end_s=420),
        a_route(a_stop(PlanStopKind.DELIVERY, "A", 2, 110), end_s=220),
    )

    violations = check(a_line_problem(drivers=2), plan)

    assert "A picked up on route 0, delivered on route 1" in violations


def test_the_checker_sees_too_many_packages_on_board() -> None:
    plan = a_solution(a_route(PICK_A, PICK_B, DROP_A, DROP_B))

    assert any("4 packages on board, capacity 3" in v for v in check(a_line_problem(), plan))


def test_the_checker_sees_a_late_delivery() -> None:
    violations = check(a_line_problem(b_deliver_by_s=400), GOOD)

    assert any("delivery of B starts at 410, window closes at 400" in v for v in violations)


def test_the_checker_sees_a_route_longer_than_the_block() -> None:
    violations = check(a_line_problem(max_duration_s=600), GOOD)

    assert "route 0 lasts 620 s, longer than 600 s" in violations


def test_the_checker_sees_more_routes_than_drivers() -> None:
    plan = a_solution(a_route(PICK_A, DROP_A, end_s=220), a_route(PICK_B, DROP_B, end_s=420))

    assert "2 routes of vehicle type 'driver', only 1 exist" in check(a_line_problem(), plan)


def test_the_checker_sees_a_dropped_shipment_that_was_visited() -> None:
    plan = GOOD.model_copy(update={"dropped": ("A",)})

    assert "A listed as dropped but visited" in check(a_line_problem(), plan)


def test_the_checker_sees_a_silently_dropped_shipment() -> None:
    plan = a_solution(a_route(PICK_A, DROP_A, end_s=220))

    violations = check(a_line_problem(), plan)

    assert "B neither served nor listed as dropped" in violations
    assert "required B not served" in violations


def test_the_checker_recomputes_times_instead_of_trusting_them() -> None:
    early = DROP_B.model_copy(update={"arrival_s": 300, "start_s": 300})
    plan = a_solution(a_route(PICK_A, DROP_A, PICK_B, early))

    violations = check(a_line_problem(b_deliver_by_s=400), plan)

    assert any("window closes at 400" in v for v in violations)
    assert any("reported arrival/start 300/300, recomputed 410/410" in v for v in violations)


def test_the_solver_answers_an_empty_problem_with_no_routes() -> None:
    problem = a_line_problem().model_copy(update={"shipments": ()})

    solution = solve(problem, time_limit_s=0.1, seed=0)

    assert (solution.routes, solution.dropped, solution.objective) == ((), (), 0)


def test_the_solver_serves_the_hand_built_problem() -> None:
    problem = a_line_problem()

    solution = solve(problem, time_limit_s=0.1, seed=0)

    assert check(problem, solution) == []
    assert solution.method is Method.PYVRP
    assert solution.dropped == ()


def an_order(order_id: str, customer: Point, deliver_by: timedelta) -> DeliveryOrder:
    return DeliveryOrder(
        id=order_id,
        store=MALL,
        customer=customer,
        packages=1,
        ready_at=NOON,
        deliver_by=NOON + deliver_by,
    )


def test_when_not_all_orders_fit_the_least_urgent_is_dropped_and_listed() -> None:
    # North and south are each 39 minutes away in opposite directions: one driver can keep
    # only one of the two promises.
    orders = [
        an_order("later", SOUTH, timedelta(minutes=60)),
        an_order("sooner", NORTH, timedelta(minutes=45)),
    ]
    fleet = Fleet(drivers=1, capacity=10, block=timedelta(hours=3))
    problem = build_problem(
        MALL, orders, fleet, shift_start=NOON, now=NOON, travel=TravelModel(), pickup_service_s=0
    )

    solution = solve(problem, time_limit_s=0.2, seed=0)

    assert check(problem, solution) == []
    assert solution.dropped == ("later",)
    assert [stop.shipment_id for stop in solution.routes[0].stops] == ["sooner", "sooner"]


# PyVRP rightly warns that it cannot find a feasible plan.
@pytest.mark.filterwarnings("ignore::pyvrp.exceptions.PenaltyBoundWarning")
def test_an_impossible_required_order_falls_back_to_greedy_and_is_listed() -> None:
    order = an_order("too-far", NORTH, timedelta(minutes=10)).model_copy(
        update={"is_required": True}
    )
    fleet = Fleet(drivers=1, capacity=10, block=timedelta(hours=2))
    problem = build_problem(MALL, [order], fleet, shift_start=NOON, now=NOON, travel=TravelModel())

    solution = solve(problem, time_limit_s=0.1, seed=0)

    assert solution.method is Method.GREEDY
    assert solution.dropped == ("too-far",)
    assert check(problem, solution) == ["required too-far not served"]


def test_a_shipment_due_before_it_is_ready_is_dropped_and_listed() -> None:
    late = Shipment(
        id="C",
        pickup=1,
        delivery=2,
        packages=1,
        ready_at_s=600,
        deliver_by_s=300,
        is_required=False,
    )
    problem = a_line_problem()
    problem = problem.model_copy(update={"shipments": (*problem.shipments, late)})

    solution = solve(problem, time_limit_s=0.1, seed=0)

    assert solution.dropped == ("C",)
    assert check(problem, solution) == []


def test_a_pickup_waits_until_the_order_is_ready() -> None:
    order = an_order("o1", NORTH, timedelta(hours=3)).model_copy(
        update={"ready_at": NOON + timedelta(minutes=30)}
    )
    fleet = Fleet(drivers=1, capacity=10, block=timedelta(hours=2))
    problem = build_problem(MALL, [order], fleet, shift_start=NOON, now=NOON, travel=TravelModel())

    solution = solve(problem, time_limit_s=0.1, seed=0)

    pickup = solution.routes[0].stops[0]
    assert pickup.kind is PlanStopKind.PICKUP
    assert pickup.start_s >= 1800
    assert check(problem, solution) == []


def test_build_problem_shares_one_location_per_store_and_times_from_the_shift_start() -> None:
    store = Point(36.1275, -115.1710)
    orders = [
        an_order("o1", NORTH, timedelta(hours=2)).model_copy(update={"store": store}),
        an_order("o2", SOUTH, timedelta(hours=3)).model_copy(update={"store": store}),
    ]
    fleet = Fleet(drivers=2, capacity=5, block=timedelta(hours=4))

    problem = build_problem(
        MALL,
        orders,
        fleet,
        shift_start=NOON - timedelta(minutes=10),
        now=NOON,
        travel=TravelModel(),
    )

    assert problem.matrix.size == 4
    first, second = problem.shipments
    assert first.pickup == second.pickup == 1
    assert (first.ready_at_s, first.deliver_by_s) == (600, 600 + 7200)
    assert first.prize > second.prize
    assert problem.vehicle_types[0].max_duration_s == 4 * 3600


@pytest.mark.parametrize("hours", [1, 5])
def test_a_block_is_two_to_four_hours(hours: int) -> None:
    with pytest.raises(ValidationError):
        Fleet(drivers=1, capacity=5, block=timedelta(hours=hours))


def test_a_fixed_cost_above_the_distance_bound_outweighs_any_distance() -> None:
    problem = a_line_problem()

    bound = bound_total_distance(problem.matrix, stop_count=4, vehicle_count=1)

    assert bound == 210 * 5
    assert bound >= GOOD.routes[0].distance


@given(
    hours_before=st.floats(min_value=-10, max_value=20),
    later_by=st.floats(min_value=0, max_value=20),
)
@settings(max_examples=50, derandomize=True)
def test_the_urgency_prize_grows_as_the_promise_nears(hours_before: float, later_by: float) -> None:
    sooner = NOON + timedelta(hours=hours_before)
    later = sooner + timedelta(hours=later_by)

    prize_sooner = urgency_prize(sooner, NOON)
    prize_later = urgency_prize(later, NOON)

    assert 100_000 <= prize_later <= prize_sooner <= 1_000_000


@st.composite
def problems(draw: st.DrawFn) -> RoutingProblem:
    """Small instances on a grid whose required shipments each fit a driver of their own: a
    feasible plan always exists, so the solver must find one."""
    points = draw(
        st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40)), min_size=2, max_size=6)
    )
    grid = tuple(
        tuple(10 * (abs(ax - bx) + abs(ay - by)) for bx, by in points) for ax, ay in points
    )
    matrix = TravelMatrix(distance=grid, duration=grid)
    count = draw(st.integers(1, 8))
    is_all_required = draw(st.booleans())
    drivers = count if is_all_required else draw(st.integers(1, 3))
    locations = st.integers(0, len(points) - 1)
    shipments: list[Shipment] = []
    alone_durations, alone_ends = [0], [0]
    for index in range(count):
        pickup, delivery = draw(locations), draw(locations)
        ready_at = draw(st.integers(0, 600))
        service = draw(st.integers(0, 60))
        earliest_delivery = max(ready_at, grid[0][pickup]) + service + grid[pickup][delivery]
        alone_end = earliest_delivery + service + grid[delivery][0]
        is_required = is_all_required or (index < drivers and draw(st.booleans()))
        if is_required:
            deliver_by = earliest_delivery + draw(st.integers(0, 900))
            alone_durations.append(
                grid[0][pickup] + service + grid[pickup][delivery] + service + grid[delivery][0]
            )
            alone_ends.append(alone_end)
        else:
            deliver_by = draw(st.integers(0, 2000))
        shipments.append(
            Shipment(
                id=f"s{index}",
                pickup=pickup,
                delivery=delivery,
                packages=draw(st.integers(1, 3)),
                ready_at_s=ready_at,
                deliver_by_s=deliver_by,
                pickup_service_s=service,
                delivery_service_s=service,
                prize=0 if is_required else draw(st.integers(0, 3000)),
                is_required=is_required,
            )
        )
    max_duration = draw(st.none() | st.integers(max(1, *alone_durations), 3000))
    latest_end = draw(st.none() | st.integers(max(alone_ends), 4000))
    vehicles = VehicleType(
        count=drivers,
        capacity=draw(st.integers(3, 6)),
        latest_end_s=latest_end,
        max_duration_s=max_duration,
        fixed_cost=draw(st.sampled_from([0, 500])),
    )
    return RoutingProblem(matrix=matrix, vehicle_types=(vehicles,), shipments=tuple(shipments))


@given(problem=problems())
@settings(max_examples=30, deadline=None, derandomize=True)
def test_solver_plans_pass_the_independent_checker(problem: RoutingProblem) -> None:
    solution = solve(problem, time_limit_s=0.02, seed=1)

    assert check(problem, solution) == []


@given(problem=problems())
@settings(max_examples=60, deadline=None, derandomize=True)
def test_greedy_plans_pass_the_independent_checker(problem: RoutingProblem) -> None:
    solution = solve_greedy(problem)

    assert solution.method is Method.GREEDY
    assert check(problem, solution) == []
