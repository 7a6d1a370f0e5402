"""The console's picture of a mall: phases, exceptions by urgency, the day's figures."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch_service.domain.capacity import CapacityStatus
from dispatch_service.domain.console.day import day_summary, same_day_state
from dispatch_service.domain.console.exceptions import (
    ExceptionItem,
    ExceptionKind,
    ExceptionPolicy,
    Severity,
    at_risk_in_pool,
    by_urgency,
    failed_deliveries,
    late_on_routes,
    off_route_drivers,
    slow_stores,
    stale_drivers,
    unaccepted_routes,
)
from dispatch_service.domain.console.geometry import distance_to_path_m, mall_outline
from dispatch_service.domain.console.phases import (
    Milestones,
    RouteOnBoard,
    RoutePhase,
    StopState,
    StoreInfo,
    route_phase,
    stop_state,
)
from dispatch_service.domain.offers import DriverState
from dispatch_service.domain.pool import PooledShipment, Timing
from dispatch_service.domain.route import RouteStatus
from shared.events.common import GeoPoint
from shared.events.dispatch import RouteStop, StopKind
from shared.events.driver import StopStatus
from shared.geo import Point, TravelModel, haversine_m

NOON = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)
MALL = Point(36.1272, -115.1706)
KM_LAT = 1 / 111.2
POLICY = ExceptionPolicy(
    pool_slack=timedelta(minutes=30),
    unaccepted_offers=3,
    slow_pack_grace=timedelta(minutes=15),
    position_fresh=timedelta(minutes=5),
    off_route_m=2_000,
)
TIMING = Timing(
    travel=TravelModel(),
    lead=timedelta(minutes=10),
    pickup_service=timedelta(minutes=1),
    delivery_service=timedelta(minutes=3),
)


def north(km: float) -> Point:
    return Point(MALL.lat + km * KM_LAT, MALL.lng)


def a_stop(
    kind: StopKind,
    shipment_id: UUID,
    *,
    sequence: int,
    km: float = 3.0,
    eta_min: int = 30,
    due_min: int = 90,
) -> RouteStop:
    at = north(0.05 if kind is StopKind.PICKUP else km)
    return RouteStop(
        stop_id=uuid.uuid4(),
        sequence=sequence,
        kind=kind,
        shipment_id=shipment_id,
        order_id=shipment_id,
        store_id="store-1",
        store_name="Lamp & Co",
        location=GeoPoint(lat=at.lat, lng=at.lng),
        address="desk" if kind is StopKind.PICKUP else "742 Evergreen Ter",
        area="Las Vegas 89109",
        package_count=1,
        eta=NOON + timedelta(minutes=eta_min),
        deliver_by=NOON + timedelta(minutes=due_min),
    )


def pair(shipment_id: UUID, **dropoff: Any) -> tuple[RouteStop, RouteStop]:
    return (
        a_stop(StopKind.PICKUP, shipment_id, sequence=0, eta_min=10),
        a_stop(StopKind.DROPOFF, shipment_id, sequence=1, **dropoff),
    )


def progress(shipment_id: UUID, **moments: datetime | str) -> Milestones:
    return Milestones(shipment_id=shipment_id, order_id=shipment_id, store_id="store-1", **moments)  # type: ignore[arg-type]


def phase_of(
    status: RouteStatus,
    stops: tuple[RouteStop, ...],
    facts: list[Milestones],
    has_open_offer: bool = False,
) -> RoutePhase | None:
    by_id = {m.shipment_id: m for m in facts}
    states = [(s, stop_state(s, by_id.get(s.shipment_id))) for s in stops]
    return route_phase(status, has_open_offer=has_open_offer, stop_states=states)


def test_a_route_goes_from_planned_to_done_as_its_stops_are_done() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    stops = (*pair(a), *pair(b))
    picked = NOON + timedelta(minutes=12)

    assert phase_of(RouteStatus.OFFERING, stops, []) is RoutePhase.PLANNED
    assert phase_of(RouteStatus.OFFERING, stops, [], has_open_offer=True) is RoutePhase.OFFERED
    assert phase_of(RouteStatus.ASSIGNED, stops, []) is RoutePhase.ACCEPTED
    one = [progress(a, picked_up_at=picked)]
    assert phase_of(RouteStatus.ASSIGNED, stops, one) is RoutePhase.PICKING_UP
    both = [progress(a, picked_up_at=picked), progress(b, picked_up_at=picked)]
    assert phase_of(RouteStatus.ASSIGNED, stops, both) is RoutePhase.ON_THE_ROAD
    failed = [
        progress(a, picked_up_at=picked, delivered_at=picked),
        progress(b, picked_up_at=picked, failed_at=picked, failure_reason="nobody home"),
    ]
    assert phase_of(RouteStatus.ASSIGNED, stops, failed) is RoutePhase.RETURNING
    returned = [failed[0], progress(b, picked_up_at=picked, failed_at=picked, returned_at=picked)]
    assert phase_of(RouteStatus.ASSIGNED, stops, returned) is RoutePhase.DONE
    assert phase_of(RouteStatus.WITHDRAWN, stops, []) is None


def test_a_cancelled_shipment_drops_out_of_its_route_unless_it_was_picked_up() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    stops = (*pair(a), *pair(b))
    picked = NOON + timedelta(minutes=12)

    only_b_left = [progress(a, cancelled_at=picked), progress(b, picked_up_at=picked)]
    in_the_car = progress(a, picked_up_at=picked, cancelled_at=picked)

    assert phase_of(RouteStatus.ASSIGNED, stops, only_b_left) is RoutePhase.ON_THE_ROAD
    assert stop_state(stops[1], in_the_car) is StopState.PENDING
    assert stop_state(stops[1], only_b_left[0]) is StopState.CANCELLED


def reported(
    stops: tuple[RouteStop, ...], statuses: list[StopStatus]
) -> list[tuple[RouteStop, StopState]]:
    return [
        (stop, stop_state(stop, None, status)) for stop, status in zip(stops, statuses, strict=True)
    ]


def test_an_accepted_route_follows_the_driver_services_copy_of_its_stops() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    stops = (*pair(a), *pair(b))
    back = a_stop(StopKind.RETURN, b, sequence=4, km=0.05)
    p, d, f, c, x = (
        StopStatus.PENDING,
        StopStatus.DELIVERED,
        StopStatus.FAILED,
        StopStatus.CANCELLED,
        StopStatus.PICKED_UP,
    )

    def phase(stop_states: list[tuple[RouteStop, StopState]]) -> RoutePhase | None:
        return route_phase(RouteStatus.ASSIGNED, has_open_offer=False, stop_states=stop_states)

    # What dispatch heard of the shipment does not count once the driver's copy says otherwise.
    assert stop_state(stops[0], progress(a), StopStatus.PICKED_UP) is StopState.PICKED_UP
    assert phase(reported(stops, [x, d, x, p])) is RoutePhase.ON_THE_ROAD
    # A failed drop-off, or one cancelled after pickup, gets a return stop to its store.
    assert phase(reported((*stops, back), [x, d, x, f, p])) is RoutePhase.RETURNING
    assert phase(reported((*stops, back), [x, d, x, c, p])) is RoutePhase.RETURNING
    returned = reported((*stops, back), [x, d, x, f, StopStatus.RETURNED])
    assert phase(returned) is RoutePhase.DONE
    # Cancelled before pickup: it just comes off the route.
    assert phase(reported(stops, [c, c, x, p])) is RoutePhase.ON_THE_ROAD
    completed = route_phase(RouteStatus.COMPLETED, has_open_offer=False, stop_states=returned)
    assert completed is RoutePhase.DONE


def a_pooled(due_in: timedelta, *, flagged: bool = False) -> PooledShipment:
    return PooledShipment(
        shipment_id=uuid.uuid4(),
        order_id=uuid.uuid4(),
        mall_id="fashion-show-las-vegas",
        store_id="store-1",
        store_name="Lamp & Co",
        pickup_instructions="desk",
        pickup=north(0.05),
        package_count=1,
        labels=("L1",),
        ready_at=NOON,
        deliver_by=NOON + due_in,
        dropoff=north(3.0),
        dropoff_address="742 Evergreen Ter",
        dropoff_area="Las Vegas 89109",
        pin_sha256=None,
        at_risk_at=NOON if flagged else None,
    )


def test_waiting_shipments_with_less_than_30_minutes_of_slack_are_at_risk() -> None:
    # Leaving in 10 min, 1 min at the store, ~6 min of driving, 3 at the door: ~20 min.
    relaxed, tight, lost = (a_pooled(timedelta(minutes=m)) for m in (51 + 20, 20 + 20, 20 - 5))
    flagged = a_pooled(timedelta(hours=2), flagged=True)

    found = at_risk_in_pool([relaxed, tight, lost, flagged], MALL, NOON, TIMING, POLICY)

    assert {(i.shipment_id, i.severity) for i in found} == {
        (tight.shipment_id, Severity.WARNING),
        (lost.shipment_id, Severity.CRITICAL),
        (flagged.shipment_id, Severity.CRITICAL),
    }
    warning = next(i for i in found if i.shipment_id == tight.shipment_id)
    assert warning.due_at == tight.deliver_by
    assert "min of slack (Lamp & Co to Las Vegas 89109)" in warning.detail


def a_route(stops: tuple[RouteStop, ...], phase: RoutePhase, **more: object) -> RouteOnBoard:
    fields: dict[str, object] = {
        "route_id": uuid.uuid4(),
        "phase": phase,
        "stops": stops,
        "stop_states": tuple(StopState.PENDING for _ in stops),
        "depart_at": NOON + timedelta(minutes=5),
        "latest_start_at": NOON + timedelta(minutes=40),
        "driver_id": None,
        "offer_rounds": 1,
        "pay_cents": 1500,
        "block_minutes": 60,
        "assigned_at": None,
        "ended_at": None,
        **more,
    }
    return RouteOnBoard(**fields)  # type: ignore[arg-type]


def test_a_planned_arrival_after_the_promise_is_at_risk_and_slips_while_nobody_drives() -> None:
    late = a_route(pair(uuid.uuid4(), eta_min=100, due_min=90), RoutePhase.ON_THE_ROAD)
    on_time = a_route(pair(uuid.uuid4(), eta_min=60, due_min=90), RoutePhase.OFFERED)
    a_while_later = NOON + timedelta(minutes=40)

    now_found = late_on_routes([late, on_time], NOON)
    later_found = late_on_routes([late, on_time], a_while_later)

    assert [(i.route_id, i.severity) for i in now_found] == [(late.route_id, Severity.CRITICAL)]
    assert "Planned arrival 10 min after the promise" in now_found[0].detail
    # Nobody took `on_time` yet: leaving 35 min after its plan, it arrives 5 min late.
    assert {i.route_id for i in later_found} == {late.route_id, on_time.route_id}


def test_a_route_offered_three_times_without_a_taker_is_an_exception() -> None:
    stops = pair(uuid.uuid4())
    twice = a_route(stops, RoutePhase.OFFERED, offer_rounds=2)
    thrice = a_route(stops, RoutePhase.OFFERED, offer_rounds=3)
    taken = a_route(stops, RoutePhase.ACCEPTED, offer_rounds=5)

    soon = unaccepted_routes([twice, thrice, taken], NOON, POLICY)
    too_late = unaccepted_routes([thrice], NOON + timedelta(hours=1), POLICY)

    assert [(i.route_id, i.severity) for i in soon] == [(thrice.route_id, Severity.WARNING)]
    assert too_late[0].severity is Severity.CRITICAL


def test_failed_deliveries_stay_until_their_parcel_is_back_at_the_store() -> None:
    at = NOON
    failing = progress(uuid.uuid4(), failed_at=at, failure_reason="gate locked")
    back = progress(uuid.uuid4(), failed_at=at, returned_at=at)

    found = failed_deliveries([failing, back])

    assert [(i.shipment_id, i.detail) for i in found] == [
        (failing.shipment_id, "Reason: gate locked")
    ]


def test_a_store_is_slow_past_its_packing_time_and_the_grace() -> None:
    stores = {"store-1": StoreInfo("store-1", "Lamp & Co", north(0.05), prep_minutes=10)}
    slow = progress(uuid.uuid4(), placed_at=NOON - timedelta(minutes=26))
    fine = progress(uuid.uuid4(), placed_at=NOON - timedelta(minutes=24))
    packed = progress(uuid.uuid4(), placed_at=NOON - timedelta(hours=1), ready_at=NOON)

    found = slow_stores([slow, fine, packed], stores, NOON, POLICY)

    assert len(found) == 1
    assert found[0].detail == "Lamp & Co: 1 order(s) unpacked, oldest 26 min (usually 10 min)"


def a_driver_state(
    *, km: float = 1.0, minutes_ago: float = 1, route_id: UUID | None = None
) -> DriverState:
    return DriverState(
        driver_id=uuid.uuid4(),
        is_online=True,
        capacity_packages=8,
        position=north(km),
        position_at=NOON - timedelta(minutes=minutes_ago),
        current_route_id=route_id,
    )


def test_silent_drivers_and_drivers_far_from_their_route_are_exceptions() -> None:
    route = a_route(pair(uuid.uuid4(), km=3.0), RoutePhase.ON_THE_ROAD)
    fresh = a_driver_state()
    silent_idle = a_driver_state(minutes_ago=10)
    silent_busy = a_driver_state(minutes_ago=10, route_id=route.route_id)
    on_route = a_driver_state(km=2.0, route_id=route.route_id)
    astray = DriverState(
        uuid.uuid4(), True, 8, Point(MALL.lat, MALL.lng + 0.05), NOON, route.route_id
    )

    stale = stale_drivers([fresh, silent_idle, silent_busy], NOON, POLICY)
    away = off_route_drivers(
        [on_route, astray, silent_busy], {route.route_id: route}, MALL, NOON, POLICY
    )

    assert {(i.driver_id, i.severity) for i in stale} == {
        (silent_idle.driver_id, Severity.NOTICE),
        (silent_busy.driver_id, Severity.WARNING),
    }
    assert [i.driver_id for i in away] == [astray.driver_id]
    assert away[0].detail.endswith("km from the planned route")


def test_the_most_urgent_come_first() -> None:
    def item(name: str, severity: Severity, due: int | None) -> ExceptionItem:
        return ExceptionItem(
            id=name,
            kind=ExceptionKind.AT_RISK,
            severity=severity,
            title=name,
            detail="",
            due_at=None if due is None else NOON + timedelta(minutes=due),
        )

    ranked = by_urgency(
        [
            item("notice", Severity.NOTICE, 1),
            item("warning-later", Severity.WARNING, 50),
            item("critical-undated", Severity.CRITICAL, None),
            item("warning-soon", Severity.WARNING, 5),
            item("critical-soon", Severity.CRITICAL, 10),
        ]
    )

    assert [i.id for i in ranked] == [
        "critical-soon",
        "critical-undated",
        "warning-soon",
        "warning-later",
        "notice",
    ]


def test_the_day_counts_orders_deliveries_on_time_and_paid_hours() -> None:
    start = NOON - timedelta(hours=8)
    early, late, open_, yesterday = (uuid.uuid4() for _ in range(4))
    minutes = timedelta(minutes=1)
    shipments = [
        progress(early, placed_at=NOON - 90 * minutes, deliver_by=NOON,
                 delivered_at=NOON - 30 * minutes),
        progress(late, placed_at=NOON - 80 * minutes, deliver_by=NOON - 20 * minutes,
                 delivered_at=NOON - 10 * minutes),
        progress(open_, placed_at=NOON - 5 * minutes),
        progress(yesterday, placed_at=start - 120 * minutes, delivered_at=start),
    ]  # fmt: skip
    finished = a_route(
        (),
        RoutePhase.DONE,
        assigned_at=NOON - timedelta(hours=2),
        ended_at=NOON - timedelta(hours=1),
        pay_cents=2000,
        block_minutes=60,
    )
    running = a_route(
        (), RoutePhase.ON_THE_ROAD, assigned_at=NOON - timedelta(minutes=30), pay_cents=2500,
        block_minutes=120,
    )  # fmt: skip

    day = day_summary(shipments, [finished, running], drivers_online=4, day_start=start, now=NOON)

    assert (day.orders, day.delivered, day.on_time_pct) == (3, 2, 50.0)
    assert day.median_minutes_to_door == 65.0
    # One finished hour and a two-hour block under way.
    assert day.driver_hours == 3.0
    assert (day.pay_cents, day.pay_per_hour_cents) == (4500, 1500)
    assert day.orders_per_driver_hour == 0.67
    assert day.drivers_online == 4


@pytest.mark.parametrize(
    ("capacity", "is_paused", "local", "expected"),
    [
        (CapacityStatus.NORMAL, False, time(12), ("open", 0)),
        (CapacityStatus.DELAYED, False, time(12), ("delayed", 60)),
        (CapacityStatus.DISABLED, False, time(12), ("paused", 0)),
        (CapacityStatus.NORMAL, True, time(12), ("paused", 0)),
        (CapacityStatus.NORMAL, False, time(22), ("closed", 0)),
    ],
)
def test_the_same_day_state_an_operator_reads(
    capacity: CapacityStatus, is_paused: bool, local: time, expected: tuple[str, int]
) -> None:
    state = same_day_state(
        capacity=capacity,
        is_paused=is_paused,
        paused_by="maria",
        delay_minutes=60,
        local_now=datetime.combine(NOON.date(), local),
        hours=(time(10), time(21)),
    )

    assert (state.status.value, state.delay_minutes) == expected
    assert state.is_paused_by_operator is is_paused


def inside(point: Point, polygon: list[Point]) -> bool:
    crossings = 0
    for a, b in zip(polygon, polygon[1:] + polygon[:1], strict=True):
        if (a.lat > point.lat) != (b.lat > point.lat):
            at = a.lng + (point.lat - a.lat) * (b.lng - a.lng) / (b.lat - a.lat)
            crossings += at > point.lng
    return crossings % 2 == 1


@given(
    st.lists(st.tuples(st.floats(-0.002, 0.002), st.floats(-0.002, 0.002)), min_size=0, max_size=30)
)
def test_the_mall_outline_holds_the_mall_and_every_store(
    offsets: list[tuple[float, float]],
) -> None:
    stores = [Point(MALL.lat + dlat, MALL.lng + dlng) for dlat, dlng in offsets]

    outline = mall_outline(MALL, stores)

    assert len(outline) >= 8
    assert all(inside(p, outline) for p in [MALL, *stores])
    assert max(haversine_m(MALL, p) for p in outline) < 400


def test_the_distance_to_a_path_is_to_its_nearest_segment() -> None:
    path = [MALL, north(4.0)]
    beside = Point(north(2.0).lat, MALL.lng + 1.0 / (111.2 * 0.8077))

    assert distance_to_path_m(beside, path) == pytest.approx(1_000, rel=0.02)
    assert distance_to_path_m(north(5.0), path) == pytest.approx(1_000, rel=0.02)
    assert distance_to_path_m(north(1.0), [MALL]) == pytest.approx(1_000, rel=0.02)
