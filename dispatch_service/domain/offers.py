"""A route's offers and each driver's answer; who may see an offer, and in which order: the
nearest eligible drivers first."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from shared.geo import Point, haversine_m


class OfferStatus(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    EXPIRED = "expired"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


class Answer(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    # Another driver took the route first.
    TAKEN = "taken"
    # The route went back to the pool (no taker in time, or nothing left on it).
    WITHDRAWN = "withdrawn"


@dataclass
class Offer:
    offer_id: UUID
    route_id: UUID
    round: int
    pay_cents: int
    hourly_floor_cents: int
    surge_level: int
    radius_m: float
    status: OfferStatus
    created_at: datetime
    expires_at: datetime
    closed_at: datetime | None = None
    # Set with a close: what the still-pending views of the offer are answered with.
    closing_answer: Answer | None = None


@dataclass(frozen=True)
class Accepted:
    """What a winning accept tells the use case: who took it, for the views' answers."""

    offer_id: UUID
    driver_id: UUID
    at: datetime


@dataclass(frozen=True, slots=True)
class DriverState:
    driver_id: UUID
    is_online: bool
    capacity_packages: int
    position: Point | None
    position_at: datetime | None
    current_route_id: UUID | None


@dataclass(frozen=True, slots=True)
class Candidate:
    driver_id: UUID
    distance_m: float


def is_serving_near(
    driver: DriverState, mall: Point, *, now: datetime, radius_m: float, fresh_for: timedelta
) -> bool:
    """Online near the mall, free or on a route: a driver who will take this mall's routes."""
    if not driver.is_online or driver.position is None or driver.position_at is None:
        return False
    return now - driver.position_at <= fresh_for and haversine_m(driver.position, mall) <= radius_m


def eligible_distance_m(
    driver: DriverState,
    mall: Point,
    *,
    now: datetime,
    radius_m: float,
    min_capacity: int,
    fresh_for: timedelta,
) -> float | None:
    """The driver's distance to the mall when they may be offered a route there, else None."""
    if driver.current_route_id is not None or driver.capacity_packages < min_capacity:
        return None
    position = driver.position
    if position is None or not is_serving_near(
        driver, mall, now=now, radius_m=radius_m, fresh_for=fresh_for
    ):
        return None
    return haversine_m(position, mall)


def rank_drivers(
    drivers: Sequence[DriverState],
    mall: Point,
    *,
    now: datetime,
    radius_m: float,
    min_capacity: int,
    fresh_for: timedelta,
    pay_cents: int,
    best_pay_shown: Mapping[UUID, int],
    busy: Collection[UUID],
    limit: int,
) -> list[Candidate]:
    """Eligible drivers, nearest first, skipping those already shown this route at this pay or
    more (they answered, or let it expire) and those holding another open offer."""
    candidates = []
    for driver in drivers:
        if driver.driver_id in busy:
            continue
        if best_pay_shown.get(driver.driver_id, 0) >= pay_cents:
            continue
        distance = eligible_distance_m(
            driver,
            mall,
            now=now,
            radius_m=radius_m,
            min_capacity=min_capacity,
            fresh_for=fresh_for,
        )
        if distance is not None:
            candidates.append(Candidate(driver.driver_id, distance))
    candidates.sort(key=lambda c: (c.distance_m, str(c.driver_id)))
    return candidates[:limit]
