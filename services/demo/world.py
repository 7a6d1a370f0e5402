"""The demo's simulated world: where customers live and drivers wait, and movement along a leg.

Pure, seeded: the same seed and sizes give the same customers and drivers every run.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from shared.geo import Point
from shared.malls import Mall

METERS_PER_DEGREE_LAT = 111_320.0


def offset(origin: Point, meters: float, bearing_rad: float) -> Point:
    """The point `meters` from origin towards bearing (small distances: a flat-earth step)."""
    dlat = meters * math.cos(bearing_rad) / METERS_PER_DEGREE_LAT
    dlng = (
        meters
        * math.sin(bearing_rad)
        / (METERS_PER_DEGREE_LAT * math.cos(math.radians(origin.lat)))
    )
    return Point(round(origin.lat + dlat, 6), round(origin.lng + dlng, 6))


def along(a: Point, b: Point, fraction: float) -> Point:
    """Where a driver is `fraction` of the way from a to b."""
    f = min(1.0, max(0.0, fraction))
    return Point(a.lat + (b.lat - a.lat) * f, a.lng + (b.lng - a.lng) * f)


@dataclass(frozen=True, slots=True)
class Customer:
    index: int
    mall: Mall
    point: Point
    # Seconds of simulated time after the demo's day starts when this customer shops.
    arrives_after_s: float


@dataclass(frozen=True, slots=True)
class Driver:
    index: int
    mall: Mall
    home: Point


def neighborhoods(rng: random.Random, mall: Mall, count: int) -> list[Point]:
    """Residential clusters around a mall: people who order live in a few neighborhoods."""
    return [
        offset(mall.point, rng.uniform(2_000, 6_000), rng.uniform(0, 2 * math.pi))
        for _ in range(count)
    ]


def make_customers(
    rng: random.Random,
    malls: tuple[Mall, ...],
    count: int,
    ordering_seconds: float,
    *,
    neighborhoods_per_mall: int = 4,
    clustered_share: float = 0.8,
) -> list[Customer]:
    clusters = {m.id: neighborhoods(rng, m, neighborhoods_per_mall) for m in malls}
    customers = []
    for index in range(count):
        mall = malls[index % len(malls)]
        if rng.random() < clustered_share:
            center = rng.choice(clusters[mall.id])
            point = offset(center, rng.uniform(0, 900), rng.uniform(0, 2 * math.pi))
        else:
            point = offset(mall.point, rng.uniform(1_000, 7_000), rng.uniform(0, 2 * math.pi))
        customers.append(Customer(index, mall, point, rng.uniform(0, ordering_seconds)))
    return sorted(customers, key=lambda c: c.arrives_after_s)


def make_drivers(rng: random.Random, malls: tuple[Mall, ...], per_mall: int) -> list[Driver]:
    return [
        Driver(
            index=m_index * per_mall + d,
            mall=mall,
            home=offset(mall.point, rng.uniform(100, 1_000), rng.uniform(0, 2 * math.pi)),
        )
        for m_index, mall in enumerate(malls)
        for d in range(per_mall)
    ]
