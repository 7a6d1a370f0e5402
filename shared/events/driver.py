"""Events of the driver service: availability, positions, and what drivers do on a route."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar
from uuid import UUID

from pydantic import AwareDatetime, Field

from shared.events import topics
from shared.events.common import GeoPoint
from shared.events.dispatch import RouteStop
from shared.events.envelope import Payload, register


@register
class DriverAvailabilityChanged(Payload):
    TYPE: ClassVar[str] = "driver.availability_changed"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = topics.DRIVERS

    driver_id: UUID
    online: bool
    vehicle_type: str
    capacity_packages: int = Field(gt=0)
    location: GeoPoint | None = None
    at: AwareDatetime


@register
class DriverLocationUpdated(Payload):
    TYPE: ClassVar[str] = "driver.location_updated"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = topics.DRIVERS

    driver_id: UUID
    location: GeoPoint
    at: AwareDatetime
    # The route the driver is on, if any; orders show the position only after pickup.
    route_id: UUID | None = None


@register
class OfferAccepted(Payload):
    TYPE: ClassVar[str] = "offer.accepted"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = topics.DRIVER_ACTIVITY

    offer_id: UUID
    route_id: UUID
    mall_id: str
    driver_id: UUID
    pay_cents: int = Field(gt=0)
    at: AwareDatetime


@register
class OfferDeclined(Payload):
    TYPE: ClassVar[str] = "offer.declined"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = topics.DRIVER_ACTIVITY

    offer_id: UUID
    route_id: UUID
    mall_id: str
    driver_id: UUID
    at: AwareDatetime


class RouteStopEvent(Payload):
    # The fields every event of one stop's outcome starts with; not an event of its own (not
    # registered). The subclasses' fields follow these, so each payload's field order stays.

    route_id: UUID
    stop_id: UUID
    mall_id: str
    driver_id: UUID
    order_id: UUID
    shipment_id: UUID


@register
class RouteStopPickedUp(RouteStopEvent):
    TYPE: ClassVar[str] = "route.stop_picked_up"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = topics.DRIVER_ACTIVITY

    labels: list[str]
    missing_labels: list[str] = Field(default_factory=list)
    at: AwareDatetime
    # When the driver should reach this shipment's door: the planned time, moved by how late
    # (or early) the pickup was.
    dropoff_eta: AwareDatetime | None = None


@register
class RouteStopDelivered(RouteStopEvent):
    TYPE: ClassVar[str] = "route.stop_delivered"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = topics.DRIVER_ACTIVITY

    proof_photo_sha256: str
    at: AwareDatetime


@register
class RouteStopFailed(RouteStopEvent):
    TYPE: ClassVar[str] = "route.stop_failed"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = topics.DRIVER_ACTIVITY

    reason: str
    at: AwareDatetime


@register
class RouteStopReturned(RouteStopEvent):
    """A failed delivery's package was handed back to its store."""

    TYPE: ClassVar[str] = "route.stop_returned"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = topics.DRIVER_ACTIVITY

    store_id: str
    at: AwareDatetime


@register
class RoutePickupWait(Payload):
    """A driver waited past the free wait at a store; paid, and reported so stores see it."""

    TYPE: ClassVar[str] = "route.pickup_wait"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = topics.DRIVER_ACTIVITY

    route_id: UUID
    stop_id: UUID
    mall_id: str
    store_id: str
    driver_id: UUID
    waited_minutes: float = Field(ge=0)
    paid_minutes: float = Field(ge=0)
    paid_cents: int = Field(ge=0)
    at: AwareDatetime


class StopStatus(StrEnum):
    PENDING = "pending"
    PICKED_UP = "picked_up"
    DELIVERED = "delivered"
    FAILED = "failed"
    RETURNED = "returned"
    # Removed from the route: its order was cancelled, or its store re-routed it.
    CANCELLED = "cancelled"


class RouteStopState(RouteStop):
    """A stop of an accepted route as the driver app has it, with how far it got."""

    status: StopStatus


@register
class RouteStopsChanged(Payload):
    """An accepted route's stops after any change: a step, a cancellation, a return stop, an
    added pickup. The driver service owns an accepted route; dispatch keeps a copy."""

    TYPE: ClassVar[str] = "route.stops_changed"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = topics.DRIVER_ACTIVITY

    route_id: UUID
    mall_id: str
    driver_id: UUID
    # Grows by one with each change: a copy keeps the highest it has seen.
    revision: int = Field(ge=1)
    stops: list[RouteStopState]
    is_completed: bool
    at: AwareDatetime


@register
class RouteStopsRefused(Payload):
    """Stops dispatch added to a route that had already ended: dispatch plans them anew."""

    TYPE: ClassVar[str] = "route.stops_refused"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = topics.DRIVER_ACTIVITY

    route_id: UUID
    mall_id: str
    shipment_ids: list[UUID]
    at: AwareDatetime
