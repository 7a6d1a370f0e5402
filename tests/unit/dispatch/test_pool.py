from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from dispatch_service.domain.pool import PooledShipment, Timing, is_promise_at_risk, is_round_due
from shared.geo import Point, TravelModel

NOW = datetime(2026, 11, 25, 19, 0, tzinfo=UTC)
MALL = Point(36.1272, -115.1706)
TIMING = Timing(
    travel=TravelModel(1.3, 40.0),
    lead=timedelta(minutes=10),
    pickup_service=timedelta(minutes=1),
    delivery_service=timedelta(minutes=3),
)


def a_shipment(*, km_away: float = 5.0, due_in: timedelta = timedelta(hours=3)) -> PooledShipment:
    return PooledShipment(
        shipment_id=uuid4(),
        order_id=uuid4(),
        mall_id="fashion-show-las-vegas",
        store_id="store-1",
        store_name="Store One",
        pickup_instructions="Counter at the back",
        pickup=MALL,
        package_count=1,
        labels=("L1",),
        ready_at=NOW,
        deliver_by=NOW + due_in,
        dropoff=Point(MALL.lat + km_away / 111.2, MALL.lng),
        dropoff_address="1 Main St, Las Vegas, NV 89109",
        dropoff_area="Las Vegas 89109",
        pin_sha256=None,
    )


def due(
    pool: list[PooledShipment],
    last: datetime | None,
    now: datetime = NOW,
    *,
    was_short_of_drivers: bool = False,
    free_drivers: int = 0,
) -> bool:
    return is_round_due(
        pool,
        MALL,
        now=now,
        last_round_at=last,
        interval=timedelta(seconds=30),
        min_gap=timedelta(seconds=10),
        trigger_size=5,
        slack_trigger=timedelta(minutes=30),
        timing=TIMING,
        was_short_of_drivers=was_short_of_drivers,
        free_drivers=free_drivers,
    )


def test_a_direct_trip_that_cannot_arrive_in_time_puts_the_promise_at_risk() -> None:
    # 20 km at 40 km/h x 1.3 is 39 minutes of driving, plus 10 min lead and 4 min of stops.
    assert is_promise_at_risk(
        a_shipment(km_away=20, due_in=timedelta(minutes=50)), MALL, NOW, TIMING
    )
    assert not is_promise_at_risk(
        a_shipment(km_away=20, due_in=timedelta(minutes=60)), MALL, NOW, TIMING
    )


def test_a_round_is_due_on_the_interval() -> None:
    pool = [a_shipment()]

    assert due(pool, None)
    assert not due(pool, NOW - timedelta(seconds=20))
    assert due(pool, NOW - timedelta(seconds=30))


def test_an_empty_pool_needs_no_round() -> None:
    assert not due([], None)


def test_a_large_pool_or_short_slack_pulls_the_round_forward_but_not_within_the_gap() -> None:
    large = [a_shipment() for _ in range(5)]
    urgent = [a_shipment(km_away=5, due_in=timedelta(minutes=40))]

    assert due(large, NOW - timedelta(seconds=12))
    assert due(urgent, NOW - timedelta(seconds=12))
    assert not due(large, NOW - timedelta(seconds=5))


def test_a_shipment_already_flagged_at_risk_does_not_pull_rounds_forward() -> None:
    flagged = replace(
        a_shipment(km_away=5, due_in=timedelta(minutes=5)), at_risk_at=NOW - timedelta(minutes=1)
    )

    assert not due([flagged], NOW - timedelta(seconds=12))


def test_a_driver_freed_after_a_round_short_of_drivers_pulls_the_next_round_forward() -> None:
    left_behind = [a_shipment(due_in=timedelta(hours=3))]
    after_gap = NOW - timedelta(seconds=12)

    assert due(left_behind, after_gap, was_short_of_drivers=True, free_drivers=1)
    assert not due(left_behind, after_gap, was_short_of_drivers=True, free_drivers=0)
    assert not due(left_behind, after_gap, was_short_of_drivers=False, free_drivers=3)
    assert not due(
        left_behind, NOW - timedelta(seconds=5), was_short_of_drivers=True, free_drivers=1
    )


def test_without_a_free_driver_a_short_slack_waits_for_the_interval() -> None:
    urgent = [a_shipment(km_away=5, due_in=timedelta(minutes=40))]

    assert not due(urgent, NOW - timedelta(seconds=12), was_short_of_drivers=True)
    assert due(urgent, NOW - timedelta(seconds=30), was_short_of_drivers=True)
