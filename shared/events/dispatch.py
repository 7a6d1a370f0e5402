"""Events of the dispatch service: routes, offers, promises at risk, same-day capacity."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.events import topics
from shared.events.common import GeoPoint
from shared.events.envelope import Payload, register


class StopKind(StrEnum):
    PICKUP = "pickup"
    DROPOFF = "dropoff"
    RETURN = "return"


class RouteStop(BaseModel):
    """One stop of a route, with what the driver app shows once the route is accepted."""

    model_config = ConfigDict(frozen=True)

    stop_id: UUID
    sequence: int = Field(ge=0)
    kind: StopKind
    shipment_id: UUID
    order_id: UUID
    store_id: str
    store_name: str
    location: GeoPoint
    # pickup: the store's pickup instructions; dropoff: the full address.
    address: str
    area: str
    instructions: str = ""
    labels: list[str] = Field(default_factory=list)
    package_count: int = Field(gt=0)
    eta: AwareDatetime
    deliver_by: AwareDatetime
    pin_sha256: str | None = None
    # A drop-off in a scheduled window: not before this (the driver waits). None: any time.
    deliver_from: AwareDatetime | None = None


@register
class RoutePlanned(Payload):
    TYPE: ClassVar[str] = "route.planned"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = topics.ROUTES

    route_id: UUID
    mall_id: str
    stops: list[RouteStop]
    planned_miles: float = Field(ge=0)
    planned_minutes: int = Field(ge=0)


@register
class RouteOffered(Payload):
    """An offer of a route to a few drivers; the driver service decides who wins."""

    TYPE: ClassVar[str] = "route.offered"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = topics.ROUTES

    offer_id: UUID
    route_id: UUID
    mall_id: str
    mall_name: str
    driver_ids: list[UUID]
    pay_cents: int = Field(gt=0)
    currency: str = "USD"
    hourly_floor_cents: int = Field(gt=0)
    block_minutes: int = Field(gt=0)
    expected_miles: float = Field(ge=0)
    stop_count: int = Field(gt=0)
    pickup_area: str
    stops: list[RouteStop]
    expires_at: AwareDatetime
    round: int = Field(ge=1)
    # The planned driving and stop time; block_minutes is what is paid, rounded up from it.
    expected_minutes: int | None = Field(None, ge=0)


@register
class RouteOfferExpired(Payload):
    TYPE: ClassVar[str] = "route.offer_expired"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = topics.ROUTES

    offer_id: UUID
    route_id: UUID
    mall_id: str


@register
class RouteAssigned(Payload):
    TYPE: ClassVar[str] = "route.assigned"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = topics.ROUTES

    route_id: UUID
    offer_id: UUID
    mall_id: str
    driver_id: UUID
    pay_cents: int = Field(gt=0)
    order_ids: list[UUID]


@register
class OrderPromiseAtRisk(Payload):
    TYPE: ClassVar[str] = "order.promise_at_risk"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = topics.ROUTES

    order_id: UUID
    shipment_id: UUID
    mall_id: str
    deliver_by: AwareDatetime
    reason: str


@register
class ZoneCapacityChanged(Payload):
    """Dispatch's signal to the catalog: stop or delay same-day promises for a mall's area.

    `orders_per_hour` is the mall's fleet rate that quotes weigh delivery windows against:
    online drivers near the mall (last fix within 30 minutes) times what one delivers an hour
    on the mall's routes completed in the last two hours (`DISPATCH_ORDERS_PER_DRIVER_HOUR`
    weighing as one driver-hour of it). Told when it changes, at most once a batching round.
    """

    TYPE: ClassVar[str] = "zone.capacity_changed"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = topics.ZONES

    mall_id: str
    # h3 cells affected; empty means the mall's whole delivery area.
    h3_cells: list[str] = Field(default_factory=list)
    same_day_enabled: bool
    promise_delay_minutes: int = Field(ge=0)
    reason: str
    # How many orders an hour the mall's fleet delivers, as dispatch counts its drivers: what
    # quotes weigh a delivery window's bookings against. None: unchanged.
    orders_per_hour: float | None = Field(None, ge=0)


@register
class RouteStopsAdded(Payload):
    """Dispatch adds a re-routed shipment's pickup and drop-off to a driver's accepted route."""

    TYPE: ClassVar[str] = "route.stops_added"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = topics.ROUTES

    route_id: UUID
    mall_id: str
    driver_id: UUID
    stops: list[RouteStop]


@register
class RouteReleased(Payload):
    """Everything on an accepted route was cancelled and nothing replaces it: the driver is
    free, and paid the route as offered."""

    TYPE: ClassVar[str] = "route.released"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = topics.ROUTES

    route_id: UUID
    mall_id: str
    driver_id: UUID
    reason: str
