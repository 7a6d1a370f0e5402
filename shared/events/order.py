"""Events of the order service, keyed by order id (one order's events stay in order).

An order may be filled by one or a few stores of one mall; each store's part is a *shipment*
with its own id, packed, picked up and delivered on its own.
"""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.events import topics
from shared.events.common import GeoPoint
from shared.events.envelope import Payload, register


class ShipmentLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    sku: str
    quantity: int = Field(gt=0)


class PlacedShipment(BaseModel):
    model_config = ConfigDict(frozen=True)

    shipment_id: UUID
    store_id: str
    lines: list[ShipmentLine]


@register
class OrderPlaced(Payload):
    TYPE: ClassVar[str] = "order.placed"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = topics.ORDERS

    order_id: UUID
    mall_id: str
    shipments: list[PlacedShipment]
    deliver_by: AwareDatetime
    # The delivery window is [window_starts_at, deliver_by]; None: from the order's placing.
    window_starts_at: AwareDatetime | None = None


@register
class OrderAccepted(Payload):
    TYPE: ClassVar[str] = "order.accepted"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = topics.ORDERS

    order_id: UUID
    shipment_id: UUID
    mall_id: str
    store_id: str


@register
class OrderReadyForPickup(Payload):
    """A store packed its part of an order; everything dispatch and the driver need."""

    TYPE: ClassVar[str] = "order.ready_for_pickup"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = topics.ORDERS

    order_id: UUID
    shipment_id: UUID
    mall_id: str
    mall_name: str
    store_id: str
    store_name: str
    pickup_instructions: str
    pickup: GeoPoint
    package_count: int = Field(gt=0)
    labels: list[str]
    ready_at: AwareDatetime
    deliver_by: AwareDatetime
    dropoff: GeoPoint
    dropoff_address: str
    # Shown to drivers before they accept, instead of the address (e.g. "Las Vegas 89109").
    dropoff_area: str
    customer_first_name: str
    # The customer's delivery PIN, hashed (sha256 hex); None when the order needs no PIN.
    pin_sha256: str | None = None
    # The delivery window opens then (a scheduled window): not delivered before. None: now.
    window_starts_at: AwareDatetime | None = None


@register
class OrderCancelled(Payload):
    TYPE: ClassVar[str] = "order.cancelled"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = topics.ORDERS

    order_id: UUID
    mall_id: str
    shipment_ids: list[UUID]
    reason: str


@register
class OrderLineRerouted(Payload):
    """A store had no stock for a shipment; its lines went to another store of the same mall."""

    TYPE: ClassVar[str] = "order.line_rerouted"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = topics.ORDERS

    order_id: UUID
    mall_id: str
    from_shipment_id: UUID
    from_store_id: str
    to_shipment_id: UUID
    to_store_id: str
    lines: list[ShipmentLine]


@register
class OrderDelivered(Payload):
    TYPE: ClassVar[str] = "order.delivered"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = topics.ORDERS

    order_id: UUID
    mall_id: str
    delivered_at: AwareDatetime


@register
class OrderTipped(Payload):
    """The customer tipped a delivered order; the drivers who delivered it share the tip."""

    TYPE: ClassVar[str] = "order.tipped"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = topics.ORDERS

    order_id: UUID
    mall_id: str
    tip_cents: int = Field(gt=0)
    currency: str
    at: AwareDatetime
