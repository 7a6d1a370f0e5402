from __future__ import annotations

import math
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import UUID

from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch_service.domain.planning import Plan, PlanningPolicy, plan_routes
from dispatch_service.domain.pool import PooledShipment, Timing, is_plannable, slack
from shared.events.dispatch import StopKind
from shared.geo import Point, TravelModel

NOW = datetime(2026, 11, 25, 19, 0, tzinfo=UTC)
MALL = Point(36.1272, -115.1706)
POLICY = PlanningPolicy(
    timing=Timing(
        travel=TravelModel(1.3, 40.0),
        lead=timedelta(minutes=10),
        pickup_service=timedelta(minutes=1),
        delivery_service=timedelta(minutes=3),
    ),
    block=timedelta(hours=3),
    route_fixed_cost_m=20_000,
    late_delivery_window=timedelta(hours=2),
    solve_seconds=0.2,
    seed=1,
)


def a_shipment(
    *,
    km_north: float = 3.0,
    km_east: float = 0.0,
    packages: int = 1,
    due_in: timedelta = timedelta(hours=2),
) -> PooledShipment:
    return PooledShipment(
        shipment_id=uuid.uuid4(),
        order_id=uuid.uuid4(),
        mall_id="fashion-show-las-vegas",
        store_id="store-7",
        store_name="Store Seven",
        pickup_instructions="Door 3, ask at the counter",
        pickup=Point(MALL.lat + 0.001, MALL.lng),
        package_count=packages,
        labels=("A1", "A2"),
        ready_at=NOW,
        deliver_by=NOW + due_in,
        dropoff=Point(MALL.lat + km_north / 111.2, MALL.lng + km_east / 89.9),
        dropoff_address="10 Home Rd, Las Vegas, NV 89109",
        dropoff_area="Las Vegas 89109",
        pin_sha256="ab" * 32,
    )


def plan(pool: list[PooledShipment], *, drivers: int = 3, capacity: int = 8) -> Plan:
    return plan_routes(
        MALL,
        pool,
        drivers=drivers,
        capacity=capacity,
        now=NOW,
        policy=POLICY,
        new_route_id=uuid.uuid4,
    )


def test_nearby_shipments_share_a_route_with_each_pickup_before_its_dropoff() -> None:
    pool = [a_shipment(km_north=3 + i * 0.3) for i in range(4)]

    result = plan(pool)

    assert result.violations == ()
    assert result.dropped == ()
    assert len(result.routes) == 1
    route = result.routes[0]
    assert route.shipment_ids == {s.shipment_id for s in pool}
    for shipment in pool:
        kinds = [(s.kind, s.sequence) for s in route.stops if s.shipment_id == shipment.shipment_id]
        assert [k for k, _ in kinds] == [StopKind.PICKUP, StopKind.DROPOFF]
        assert kinds[0][1] < kinds[1][1]
    assert [s.sequence for s in route.stops] == list(range(len(route.stops)))


def test_stops_carry_what_the_driver_needs_and_keep_every_promise() -> None:
    shipment = a_shipment()

    route = plan([shipment]).routes[0]

    pickup, dropoff = route.stops
    assert pickup.store_name == "Store Seven"
    assert pickup.instructions == "Door 3, ask at the counter"
    assert pickup.labels == ["A1", "A2"]
    assert pickup.pin_sha256 is None
    assert dropoff.address == "10 Home Rd, Las Vegas, NV 89109"
    assert dropoff.area == "Las Vegas 89109"
    assert dropoff.pin_sha256 == "ab" * 32
    assert dropoff.eta <= shipment.deliver_by
    assert route.depart_at >= NOW + POLICY.timing.lead
    assert route.depart_at <= route.latest_start_at
    assert route.max_load == 1
    assert route.planned_miles > 0


def test_a_routes_minutes_end_with_its_last_drop_off_not_the_drive_back() -> None:
    route = plan([a_shipment(km_north=6)]).routes[0]

    last_dropoff_done = route.stops[-1].eta + POLICY.timing.delivery_service
    assert route.planned_minutes == math.ceil(
        (last_dropoff_done - route.depart_at).total_seconds() / 60
    )
    # 6 km out at 40 km/h x 1.3 is about 12 minutes each way: the way back is not in the block.
    assert route.planned_minutes < 12 + 1 + 3 + 12


def test_the_route_load_never_exceeds_the_vehicle_capacity() -> None:
    pool = [a_shipment(km_north=3 + i * 0.2, packages=3) for i in range(5)]

    result = plan(pool, drivers=5, capacity=6)

    assert result.violations == ()
    assert all(route.max_load <= 6 for route in result.routes)
    assert sum(len(r.shipment_ids) for r in result.routes) + len(result.dropped) == 5


def test_with_too_few_drivers_the_least_urgent_shipment_is_dropped_not_lost() -> None:
    # Opposite directions, 25 km out: one driver cannot serve both within the promises.
    urgent = a_shipment(km_north=25, due_in=timedelta(minutes=75))
    relaxed = a_shipment(km_north=-25, due_in=timedelta(hours=7))

    result = plan([urgent, relaxed], drivers=1)

    assert [r.shipment_ids for r in result.routes] == [{urgent.shipment_id}]
    assert result.dropped == (relaxed.shipment_id,)


def test_a_shipment_too_big_for_any_vehicle_stays_in_the_pool() -> None:
    big = a_shipment(packages=9)

    result = plan([big], capacity=8)

    assert result.routes == ()
    assert result.dropped == (big.shipment_id,)


def test_a_shipment_flagged_at_risk_is_still_planned_late_rather_than_never() -> None:
    lost = replace(
        a_shipment(km_north=20, due_in=timedelta(minutes=5)), at_risk_at=NOW - timedelta(minutes=1)
    )

    result = plan([lost])

    routed: set[UUID] = set().union(*(r.shipment_ids for r in result.routes))
    assert routed == {lost.shipment_id}


def test_no_drivers_plans_nothing_and_keeps_everything_in_the_pool() -> None:
    pool = [a_shipment(), a_shipment()]

    result = plan(pool, drivers=0)

    assert result.routes == ()
    assert set(result.dropped) == {s.shipment_id for s in pool}


@settings(max_examples=12, deadline=None)
@given(
    spots=st.lists(
        st.tuples(
            st.floats(min_value=-15, max_value=15),
            st.floats(min_value=-15, max_value=15),
            st.integers(min_value=1, max_value=4),
            st.integers(min_value=40, max_value=300),
        ),
        min_size=1,
        max_size=12,
    ),
    drivers=st.integers(min_value=1, max_value=4),
)
def test_every_planned_route_keeps_precedence_capacity_and_promises(
    spots: list[tuple[float, float, int, int]], drivers: int
) -> None:
    pool = [
        a_shipment(km_north=north, km_east=east, packages=packages, due_in=timedelta(minutes=due))
        for north, east, packages, due in spots
    ]

    result = plan(pool, drivers=drivers, capacity=6)

    assert result.violations == ()
    assert len(result.routes) <= drivers
    routed = [r.shipment_ids for r in result.routes]
    assert sum(len(ids) for ids in routed) + len(result.dropped) == len(pool)
    by_id = {s.shipment_id: s for s in pool}
    for route in result.routes:
        assert route.max_load <= 6
        assert route.depart_at <= route.latest_start_at
        seen_pickups: set[UUID] = set()
        for stop in route.stops:
            if stop.kind is StopKind.PICKUP:
                seen_pickups.add(stop.shipment_id)
                assert stop.eta >= by_id[stop.shipment_id].ready_at
            else:
                assert stop.shipment_id in seen_pickups
                assert stop.eta <= by_id[stop.shipment_id].deliver_by


def test_a_drop_off_in_a_scheduled_window_is_planned_at_or_after_its_opening() -> None:
    opens = NOW + timedelta(minutes=50)
    windowed = replace(a_shipment(km_north=3.2, due_in=timedelta(minutes=170)), deliver_from=opens)
    pool = [a_shipment(km_north=3.0), windowed]

    result = plan(pool)

    assert result.violations == () and result.dropped == ()
    stops = [s for route in result.routes for s in route.stops]
    dropoff = next(
        s for s in stops if s.shipment_id == windowed.shipment_id and s.kind is StopKind.DROPOFF
    )
    assert opens <= dropoff.eta <= windowed.deliver_by
    assert dropoff.deliver_from == opens
    other = next(
        s for s in stops if s.shipment_id == pool[0].shipment_id and s.kind is StopKind.DROPOFF
    )
    assert other.deliver_from is None


def test_a_window_opening_later_waits_in_the_pool_until_it_nears() -> None:
    evening = replace(a_shipment(due_in=timedelta(hours=8)), deliver_from=NOW + timedelta(hours=6))
    soon = replace(a_shipment(), deliver_from=NOW + timedelta(minutes=30))

    assert not is_plannable(evening, NOW, timedelta(minutes=45))
    assert is_plannable(soon, NOW, timedelta(minutes=45))
    assert is_plannable(a_shipment(), NOW, timedelta(minutes=45))
    # Its slack counts from the window's opening: far from lost, though hours away.
    assert slack(evening, MALL, NOW, POLICY.timing) > timedelta(0)
