"""A mall's pool: packed shipments waiting for a route, and when to plan them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from shared.geo import Point, TravelModel


class PoolStatus(StrEnum):
    """Where a packed shipment is for dispatch: waiting, on one live route, or gone."""

    POOLED = "pooled"
    ROUTED = "routed"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class PooledShipment:
    shipment_id: UUID
    order_id: UUID
    mall_id: str
    store_id: str
    store_name: str
    pickup_instructions: str
    pickup: Point
    package_count: int
    labels: tuple[str, ...]
    ready_at: datetime
    deliver_by: datetime
    dropoff: Point
    dropoff_address: str
    dropoff_area: str
    pin_sha256: str | None
    at_risk_at: datetime | None = None
    # A scheduled window's opening: not delivered before. None: as soon as possible.
    deliver_from: datetime | None = None

    @property
    def is_flagged_at_risk(self) -> bool:
        return self.at_risk_at is not None


@dataclass(frozen=True, slots=True)
class Timing:
    """How long the physical steps take; the same figures the solver is given."""

    travel: TravelModel
    lead: timedelta
    pickup_service: timedelta
    delivery_service: timedelta


def is_plannable(shipment: PooledShipment, now: datetime, horizon: timedelta) -> bool:
    """A shipment whose window opens later waits in the pool until its opening is within
    `horizon`: planned sooner, its driver would only wait at the door."""
    return shipment.deliver_from is None or shipment.deliver_from - now <= horizon


def earliest_delivery(
    shipment: PooledShipment, mall: Point, now: datetime, timing: Timing
) -> datetime:
    """A driver leaving the mall after the dispatch lead, straight to this one customer."""
    leave = max(now + timing.lead, shipment.ready_at)
    drive = timedelta(
        seconds=timing.travel.travel_seconds(mall, shipment.pickup)
        + timing.travel.travel_seconds(shipment.pickup, shipment.dropoff)
    )
    arrival = leave + timing.pickup_service + drive
    if shipment.deliver_from is not None:
        arrival = max(arrival, shipment.deliver_from)
    return arrival + timing.delivery_service


def slack(shipment: PooledShipment, mall: Point, now: datetime, timing: Timing) -> timedelta:
    return shipment.deliver_by - earliest_delivery(shipment, mall, now, timing)


def is_promise_at_risk(
    shipment: PooledShipment, mall: Point, now: datetime, timing: Timing
) -> bool:
    return slack(shipment, mall, now, timing) < timedelta(0)


def is_round_due(
    pool: Sequence[PooledShipment],
    mall: Point,
    *,
    now: datetime,
    last_round_at: datetime | None,
    interval: timedelta,
    min_gap: timedelta,
    trigger_size: int,
    slack_trigger: timedelta,
    timing: Timing,
    was_short_of_drivers: bool = False,
    free_drivers: int = 0,
) -> bool:
    """On the interval, or sooner (but not within `min_gap` of the last round) when the pool is
    large or a shipment's slack runs short; after a round that left shipments behind for want of
    drivers, sooner only when a driver is free. Shipments already flagged at risk do not pull
    rounds forward: they stay urgent for good.
    """
    if not pool:
        return False
    if last_round_at is None or now - last_round_at >= interval:
        return True
    if now - last_round_at < min_gap:
        return False
    if was_short_of_drivers:
        # Under load every driver is out: an early round is worth running only for a driver who
        # came back, and then at once, not at the next interval while promises slip.
        return free_drivers >= 1
    if len(pool) >= trigger_size:
        return True
    return any(
        slack(s, mall, now, timing) <= slack_trigger for s in pool if not s.is_flagged_at_risk
    )
