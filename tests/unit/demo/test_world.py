from __future__ import annotations

import random

import pytest

from services.demo.world import along, make_customers, make_drivers, offset
from shared.geo import Point, haversine_m
from shared.malls import pilot_malls


def test_an_offset_lands_about_that_far_away() -> None:
    origin = Point(36.1272, -115.1706)

    for bearing in (0.0, 1.0, 2.5, 4.0):
        assert haversine_m(origin, offset(origin, 3_000, bearing)) == pytest.approx(3_000, rel=0.01)


def test_along_a_leg_stays_between_its_ends() -> None:
    a, b = Point(36.0, -115.0), Point(36.1, -115.2)

    assert along(a, b, 0) == a
    assert along(a, b, 1.5) == b
    assert haversine_m(a, along(a, b, 0.5)) == pytest.approx(haversine_m(a, b) / 2, rel=0.01)


def test_customers_are_spread_over_the_malls_and_the_ordering_window_in_arrival_order() -> None:
    malls = pilot_malls()

    customers = make_customers(random.Random(1), malls, 40, ordering_seconds=3_600)

    assert {c.mall.id for c in customers} == {m.id for m in malls}
    arrivals = [c.arrives_after_s for c in customers]
    assert arrivals == sorted(arrivals)
    assert all(0 <= t <= 3_600 for t in arrivals)
    assert all(haversine_m(c.mall.point, c.point) <= 8_000 for c in customers)


def test_the_same_seed_gives_the_same_world() -> None:
    malls = pilot_malls()

    first = (
        make_customers(random.Random(7), malls, 10, 600),
        make_drivers(random.Random(7), malls, 2),
    )
    second = (
        make_customers(random.Random(7), malls, 10, 600),
        make_drivers(random.Random(7), malls, 2),
    )

    assert first == second


def test_drivers_wait_near_their_own_mall() -> None:
    drivers = make_drivers(random.Random(3), pilot_malls(), per_mall=3)

    assert len(drivers) == 12
    assert all(haversine_m(d.mall.point, d.home) <= 1_000 for d in drivers)
