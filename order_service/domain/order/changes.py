"""What a step of an order returns besides the new state: events, stock moves, store notices,
the customer's timeline and the storefront's notices.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from uuid import UUID

from order_service.domain.order.status import S, ShipmentStatus
from shared.events.envelope import Payload


class StockMoveKind(StrEnum):
    RESERVE = "reserve"  # free -> held for a shipment
    RELEASE = "release"  # held -> free
    TAKE = "take"  # held -> off the shelf (packed)
    RESTOCK = "restock"  # off the shelf -> back on it (the store confirmed the goods are back)
    UNRESTOCK = "unrestock"  # back on the shelf by mistake -> off it again (a driver has them)
    WRITE_OFF = "write_off"  # packed goods the store says are not there after all
    ZERO = "zero"  # the store says it has none: a recount


@dataclass(frozen=True)
class StockMove:
    kind: StockMoveKind
    store_id: str
    sku: str
    quantity: int


@dataclass(frozen=True)
class StoreNotice:
    """A webhook to a store's POS about one shipment, rendered once the order is saved."""

    shipment_id: UUID
    event_type: str


@dataclass(frozen=True)
class TimelineNote:
    status: str
    message: str


class StorefrontEvent(StrEnum):
    """What the storefront's webhook endpoints hear about an order."""

    PLACED = "order.placed"
    OUT_FOR_DELIVERY = "order.out_for_delivery"
    DELIVERED = "order.delivered"
    DELIVERY_FAILED = "order.delivery_failed"
    CANCELLED = "order.cancelled"
    TIP_ADDED = "order.tip_added"


@dataclass(frozen=True)
class StorefrontNotice:
    """A status webhook to the storefront about the whole order, rendered once it is saved."""

    event: StorefrontEvent
    # order.cancelled and order.delivery_failed: customer-safe words, never a store's.
    reason: str | None = None
    # order.cancelled after a pickup: the goods are on their way back, nothing is delivered.
    is_returning_goods: bool = False


@dataclass
class Changes:
    events: list[Payload] = field(default_factory=list)
    stock: list[StockMove] = field(default_factory=list)
    notices: list[StoreNotice] = field(default_factory=list)
    timeline: list[TimelineNote] = field(default_factory=list)
    storefront: list[StorefrontNotice] = field(default_factory=list)


def storefront_notice(now: ShipmentStatus, reason: str | None) -> StorefrontNotice | None:
    if now is S.PICKED_UP:
        return StorefrontNotice(StorefrontEvent.OUT_FOR_DELIVERY)
    if now is S.DELIVERED:
        return StorefrontNotice(StorefrontEvent.DELIVERED)
    if now is S.DELIVERY_FAILED:
        return StorefrontNotice(
            StorefrontEvent.DELIVERY_FAILED, reason=reason, is_returning_goods=True
        )
    if now is S.CANCELLED:
        return StorefrontNotice(StorefrontEvent.CANCELLED, reason=reason or "items_unavailable")
    if now is S.RETURNING:
        # A customer's cancel after the pickup: the driver takes the goods back.
        return StorefrontNotice(
            StorefrontEvent.CANCELLED, reason=reason or "cancelled", is_returning_goods=True
        )
    return None
