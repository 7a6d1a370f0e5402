from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.demo.baseline import (
    BaselineDriver,
    BaselineOrder,
    ServiceTimes,
    one_order_per_trip,
)
from shared.geo import Point, TravelModel, meters_to_miles

NOON = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)
MALL = Point(36.1272, -115.1706)
STORE = Point(36.1275, -115.1700)
NORTH = Point(36.1572, -115.1706)
SOUTH = Point(36.0972, -115.1706)
TRAVEL = TravelModel(road_factor=1.3, average_speed_kmh=40.0)
NO_SERVICE = ServiceTimes(timedelta(0), timedelta(0))


def an_order(
    order_id: str, ready_after_min: float, dropoff: Point, mall: str = "m"
) -> BaselineOrder:
    return BaselineOrder(
        order_id, mall, NOON + timedelta(minutes=ready_after_min), (STORE,), dropoff
    )


def test_a_lone_order_costs_the_drive_to_the_store_then_to_the_customer() -> None:
    result = one_order_per_trip(
        [an_order("o1", 0, NORTH)], [BaselineDriver("d1", "m", MALL)], TRAVEL, NO_SERVICE
    )

    expected_m = TRAVEL.road_meters(MALL, STORE) + TRAVEL.road_meters(STORE, NORTH)
    assert result.miles_per_order == pytest.approx(meters_to_miles(expected_m))
    expected_h = (TRAVEL.travel_seconds(MALL, STORE) + TRAVEL.travel_seconds(STORE, NORTH)) / 3600
    assert result.driver_hours == pytest.approx(expected_h)
    assert result.orders_per_driver_hour == pytest.approx(1 / expected_h)


def test_the_nearest_free_driver_takes_the_order() -> None:
    drivers = [BaselineDriver("far", "m", SOUTH), BaselineDriver("near", "m", MALL)]

    result = one_order_per_trip([an_order("o1", 0, NORTH)], drivers, TRAVEL, NO_SERVICE)

    assert [t.driver_id for t in result.trips] == ["near"]


def test_a_busy_driver_is_passed_over_for_a_free_one_even_if_farther() -> None:
    drivers = [BaselineDriver("a", "m", MALL), BaselineDriver("b", "m", SOUTH)]
    orders = [an_order("o1", 0, NORTH), an_order("o2", 1, NORTH)]

    result = one_order_per_trip(orders, drivers, TRAVEL, NO_SERVICE)

    assert [(t.order_id, t.driver_id) for t in result.trips] == [("o1", "a"), ("o2", "b")]


def test_when_every_driver_is_busy_the_order_waits_for_the_first_one_free() -> None:
    orders = [an_order("o1", 0, NORTH), an_order("o2", 1, SOUTH)]

    result = one_order_per_trip(orders, [BaselineDriver("a", "m", MALL)], TRAVEL, NO_SERVICE)

    first, second = result.trips
    assert second.started_at == first.delivered_at
    # The second trip starts at the first drop-off: that drive back counts too.
    assert second.meters == pytest.approx(
        TRAVEL.road_meters(NORTH, STORE) + TRAVEL.road_meters(STORE, SOUTH)
    )


def test_service_times_count_once_per_pickup_and_once_for_the_drop_off() -> None:
    service = ServiceTimes(timedelta(minutes=1), timedelta(minutes=3))
    order = BaselineOrder("o1", "m", NOON, (STORE, STORE), NORTH)

    result = one_order_per_trip([order], [BaselineDriver("d", "m", STORE)], TRAVEL, service)

    drive = TRAVEL.travel_seconds(STORE, NORTH)
    trip = result.trips[0]
    assert (trip.delivered_at - trip.started_at).total_seconds() == pytest.approx(drive + 300)


def test_drivers_serve_only_their_own_mall_and_orders_without_one_are_reported() -> None:
    orders = [an_order("o1", 0, NORTH, mall="m"), an_order("o2", 0, NORTH, mall="other")]

    result = one_order_per_trip(orders, [BaselineDriver("d", "m", MALL)], TRAVEL, NO_SERVICE)

    assert [t.order_id for t in result.trips] == ["o1"]
    assert result.unserved == ("o2",)


def test_no_orders_give_zero_figures_not_a_division_error() -> None:
    result = one_order_per_trip([], [BaselineDriver("d", "m", MALL)], TRAVEL, NO_SERVICE)

    assert (result.miles_per_order, result.orders_per_driver_hour) == (0.0, 0.0)
