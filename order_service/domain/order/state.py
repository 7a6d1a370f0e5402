"""An order's state: its fields, its queries and the internals its steps share."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from order_service.domain.errors import IllegalTransition, UnknownShipment
from order_service.domain.order.changes import (
    Changes,
    StockMove,
    StockMoveKind,
    StoreNotice,
    TimelineNote,
    storefront_notice,
)
from order_service.domain.order.parts import Line, Shipment
from order_service.domain.order.status import (
    CUSTOMER_MESSAGES,
    HOLDING_STOCK,
    REROUTABLE,
    S,
    ShipmentStatus,
    order_status,
    transition,
)
from order_service.domain.selection import merge_lines
from shared.events.order import OrderDelivered, ShipmentLine


@dataclass
class OrderState:
    """An order's fields, what can be read from them, and the internals every step shares."""

    id: UUID
    customer_id: str
    mall_id: str
    status: ShipmentStatus
    deliver_by: datetime
    currency: str
    total_cents: int
    address: dict[str, Any]
    dropoff_lat: float
    dropoff_lng: float
    contact_name: str
    contact_phone: str
    pin: str | None
    pin_sha256: str | None
    created_at: datetime
    updated_at: datetime
    driver_id: UUID | None = None
    route_id: UUID | None = None
    is_at_risk: bool = False
    delivered_at: datetime | None = None
    tip_cents: int = 0
    tipped_at: datetime | None = None
    # The shopper's tracking page key: unguessable, made at checkout.
    tracking_token: str = ""
    # The delivery window is [window_starts_at, deliver_by]; None means from the order's placing.
    window_starts_at: datetime | None = None
    delivery_fee_cents: int = 0
    shipments: list[Shipment] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)

    # --- queries ------------------------------------------------------------------------------

    def shipment(self, shipment_id: UUID) -> Shipment | None:
        return next((s for s in self.shipments if s.id == shipment_id), None)

    def lines_of(self, shipment_id: UUID) -> list[Line]:
        return [
            line for line in self.lines if line.shipment_id == shipment_id and not line.is_cancelled
        ]

    def shipment_lines(self, shipment_id: UUID) -> list[ShipmentLine]:
        merged = merge_lines([(line.sku, line.quantity) for line in self.lines_of(shipment_id)])
        return [ShipmentLine(sku=sku, quantity=quantity) for sku, quantity in merged.items()]

    def missing_lines(self, shipment_id: UUID, skus: Iterable[str]) -> list[Line]:
        wanted = set(skus)
        return [line for line in self.lines_of(shipment_id) if line.sku in wanted]

    def rerouting_skus(self, shipment_id: UUID, skus: Iterable[str] | None = None) -> list[str]:
        """The SKUs a re-route of this shipment would look for at other stores."""
        lines = (
            self.lines_of(shipment_id) if skus is None else self.missing_lines(shipment_id, skus)
        )
        return sorted({line.sku for line in lines})

    def tried_store_ids(self) -> set[str]:
        return {s.store_id for s in self.shipments if s.status is S.REJECTED_BY_STORE}

    @property
    def window_start(self) -> datetime:
        return self.window_starts_at or self.created_at

    def dropoff_eta(self) -> datetime | None:
        """The latest planned arrival of the shipments still on their way to the door."""
        etas = [
            s.dropoff_eta
            for s in self.shipments
            if s.status is S.PICKED_UP and s.dropoff_eta is not None
        ]
        return max(etas, default=None)

    def proof(self) -> list[Shipment]:
        """The delivered shipments with a proof photo, in delivery order."""
        done = [s for s in self.shipments if s.status is S.DELIVERED and s.proof_photo_sha256]
        return sorted(done, key=lambda s: s.delivered_at or self.updated_at)

    def is_driver_shown(self) -> bool:
        """Only on the way to the customer: before pickup, and on the way back, the driver is at
        or heading to the store."""
        return self.status is S.PICKED_UP and self.driver_id is not None

    # --- internals ----------------------------------------------------------------------------

    def _known(self, shipment_id: UUID) -> Shipment:
        shipment = self.shipment(shipment_id)
        if shipment is None:
            raise UnknownShipment
        return shipment

    @staticmethod
    def _restock_moves(shipment: Shipment) -> list[StockMove]:
        return [
            StockMove(StockMoveKind.RESTOCK, shipment.store_id, sku, quantity)
            for sku, quantity in shipment.packed.items()
            if quantity > 0
        ]

    def _call_off(self, shipment: Shipment, changes: Changes) -> None:
        if shipment.status is S.PICKED_UP:
            shipment.status = transition(shipment.status, S.RETURNING)
            changes.notices.append(StoreNotice(shipment.id, "order.returning"))
            return
        changes.stock += self._release_holds(shipment)
        shipment.status = transition(shipment.status, S.CANCELLED)
        changes.notices.append(StoreNotice(shipment.id, "order.cancelled"))

    def _check_reroutable(self, shipment: Shipment) -> None:
        if shipment.status not in REROUTABLE or (
            shipment.status is S.PICKED_UP and not shipment.missing_labels
        ):
            raise IllegalTransition(shipment.status.value, S.REJECTED_BY_STORE.value)

    def _release_holds(self, shipment: Shipment) -> list[StockMove]:
        if shipment.status not in HOLDING_STOCK:
            return []
        return [
            StockMove(StockMoveKind.RELEASE, shipment.store_id, line.sku, line.quantity)
            for line in self.lines_of(shipment.id)
        ]

    def _settle(self, changes: Changes, at: datetime, *, reason: str | None = None) -> Changes:
        """The customer-visible status follows the shipments; a change goes on the timeline
        and, when the storefront hears of it, into a storefront notice."""
        was = self.status
        self.status = order_status(s.status for s in self.shipments)
        self.updated_at = at
        if self.status != was:
            changes.timeline.append(TimelineNote(self.status.value, CUSTOMER_MESSAGES[self.status]))
            if self.status is S.DELIVERED:
                self.delivered_at = at
                changes.events.append(
                    OrderDelivered(order_id=self.id, mall_id=self.mall_id, delivered_at=at)
                )
            notice = storefront_notice(self.status, reason)
            if notice is not None:
                changes.storefront.append(notice)
        return changes
