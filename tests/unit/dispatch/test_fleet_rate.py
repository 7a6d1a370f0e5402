"""What one driver delivers an hour, as the mall's own completed routes show it (issue 16: the
rate quotes weigh windows against was a fixed setting, above what the demo's fleet carried)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from dispatch_service.domain.fleet_rate import RateRoute, orders_per_driver_hour

T0 = datetime(2026, 11, 25, 19, 0, tzinfo=UTC)
GAP = timedelta(minutes=10)


def a_route(
    driver: str, accepted_min: float, completed_min: float, orders: int, back_min: float = 0.0
) -> RateRoute:
    return RateRoute(
        driver_id=driver,
        accepted_at=T0 + timedelta(minutes=accepted_min),
        completed_at=T0 + timedelta(minutes=completed_min),
        orders=orders,
        drive_back=timedelta(minutes=back_min),
    )


def test_without_routes_the_setting_stands() -> None:
    assert orders_per_driver_hour([], prior=4.0, prior_hours=1.0, max_gap=GAP) == 4.0


def test_routes_slower_than_the_setting_pull_the_rate_down() -> None:
    # Six drivers, each an hour for two orders: 2 an hour, against a setting of 4.
    routes = [a_route(str(uuid4()), 0, 60, 2) for _ in range(6)]

    rate = orders_per_driver_hour(routes, prior=4.0, prior_hours=1.0, max_gap=GAP)

    # The setting weighs as one driver-hour: (4 + 12) / (1 + 6).
    assert rate == pytest.approx(16 / 7)


def test_the_drive_back_counts_for_a_driver_s_first_route() -> None:
    routes = [a_route("d", 0, 30, 2, back_min=30)]

    assert orders_per_driver_hour(routes, prior=4.0, prior_hours=0.0, max_gap=GAP) == pytest.approx(
        2.0
    )


def test_the_wait_between_back_to_back_routes_counts_but_idle_time_does_not() -> None:
    routes = [
        a_route("d", 0, 30, 2, back_min=5),
        # Back to back: from the previous route's end (the drive back and the wait for the
        # next round are in it), not from this accept.
        a_route("d", 38, 60, 2, back_min=5),
        # Idle for an hour for want of orders: only the route itself (and its drive back).
        a_route("d", 120, 145, 2, back_min=5),
    ]

    rate = orders_per_driver_hour(routes, prior=4.0, prior_hours=0.0, max_gap=GAP)

    hours = (35 + 30 + 30) / 60
    assert rate == pytest.approx(6 / hours)


def test_a_route_that_delivered_nothing_still_took_the_driver_s_time() -> None:
    routes = [a_route("d", 0, 60, 0)]

    assert orders_per_driver_hour(routes, prior=4.0, prior_hours=1.0, max_gap=GAP) == 2.0
