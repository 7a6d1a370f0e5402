"""The order: placing it, and the steps of the customer, an operator, dispatch and the driver."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from order_service.domain.errors import NotCancellable, TipAlreadyGiven, TipNotAllowed
from order_service.domain.order.changes import (
    Changes,
    StockMove,
    StockMoveKind,
    StorefrontEvent,
    StorefrontNotice,
    StoreNotice,
    TimelineNote,
)
from order_service.domain.order.parts import Line, Shipment
from order_service.domain.order.status import (
    CANCELLABLE_BY_CUSTOMER,
    CUSTOMER_MESSAGES,
    DELIVERY_FAILURE_REASONS,
    DROPPED,
    PART_CANCELLED,
    RUNNING_LATE,
    TIP_WINDOW,
    S,
    is_customer_cancellable,
    transition,
)
from order_service.domain.order.store_steps import StoreSteps
from order_service.domain.selection import Assignment
from shared.events.order import OrderCancelled, OrderPlaced, OrderTipped, PlacedShipment
from shared.geo import Point


class Order(StoreSteps):
    """The order: placing it, and the steps of the customer, an operator, dispatch and the
    driver; the store's steps and the shared state come from its bases."""

    # --- creation -----------------------------------------------------------------------------

    @classmethod
    def place(
        cls,
        *,
        order_id: UUID,
        customer_id: str,
        assignments: Sequence[Assignment],
        lines: Sequence[tuple[str, str, str, int, int]],
        deliver_by: datetime,
        currency: str,
        address: dict[str, Any],
        dropoff: Point,
        contact_name: str,
        contact_phone: str,
        pin: str | None,
        pin_sha256: str | None,
        new_id: Callable[[], UUID],
        at: datetime,
        tracking_token: str = "",
        window_starts_at: datetime | None = None,
        delivery_fee_cents: int = 0,
    ) -> tuple[Order, Changes]:
        """`lines`: (offer_id, sku, title, quantity, unit_price_cents) in cart order;
        `assignments`: the chosen stores (domain/selection.py) of the cart's SKUs; the delivery
        window runs from `window_starts_at` (None: now) to `deliver_by`."""
        changes = Changes()
        shipments: list[Shipment] = []
        shipment_of_sku: dict[str, UUID] = {}
        for assignment in assignments:
            shipment = Shipment(
                id=new_id(), order_id=order_id, store_id=assignment.store_id, status=S.PLACED
            )
            shipments.append(shipment)
            for sku, quantity in assignment.quantities.items():
                shipment_of_sku[sku] = shipment.id
                changes.stock.append(
                    StockMove(StockMoveKind.RESERVE, assignment.store_id, sku, quantity)
                )
        order_lines = [
            Line(
                id=new_id(),
                shipment_id=shipment_of_sku[sku],
                position=index,
                offer_id=offer_id,
                sku=sku,
                title=title,
                quantity=quantity,
                unit_price_cents=price,
            )
            for index, (offer_id, sku, title, quantity, price) in enumerate(lines)
        ]
        order = cls(
            id=order_id,
            customer_id=customer_id,
            mall_id=assignments[0].mall_id,
            status=S.PLACED,
            deliver_by=deliver_by,
            currency=currency,
            total_cents=sum(line.quantity * line.unit_price_cents for line in order_lines),
            address=address,
            dropoff_lat=dropoff.lat,
            dropoff_lng=dropoff.lng,
            contact_name=contact_name,
            contact_phone=contact_phone,
            pin=pin,
            pin_sha256=pin_sha256,
            created_at=at,
            updated_at=at,
            tracking_token=tracking_token,
            window_starts_at=window_starts_at,
            delivery_fee_cents=delivery_fee_cents,
            shipments=shipments,
            lines=order_lines,
        )
        changes.timeline.append(TimelineNote(S.PLACED.value, CUSTOMER_MESSAGES[S.PLACED]))
        changes.storefront.append(StorefrontNotice(StorefrontEvent.PLACED))
        changes.events.append(
            OrderPlaced(
                order_id=order.id,
                mall_id=order.mall_id,
                shipments=[
                    PlacedShipment(
                        shipment_id=s.id, store_id=s.store_id, lines=order.shipment_lines(s.id)
                    )
                    for s in shipments
                ],
                deliver_by=order.deliver_by,
                window_starts_at=window_starts_at,
            )
        )
        changes.notices += [StoreNotice(s.id, "order.created") for s in shipments]
        return order, changes

    # --- the customer -------------------------------------------------------------------------

    def cancel_by_customer(self, *, at: datetime) -> Changes:
        """Before pickup a cancel; after it, a return to the store. Refused once anything was
        delivered or failed."""
        if not is_customer_cancellable(s.status for s in self.shipments):
            raise NotCancellable
        changes = Changes()
        touched: list[UUID] = []
        for shipment in self.shipments:
            if shipment.status in DROPPED:
                continue
            touched.append(shipment.id)
            self._call_off(shipment, changes)
        changes.events.append(
            OrderCancelled(
                order_id=self.id,
                mall_id=self.mall_id,
                shipment_ids=touched,
                reason="customer_cancelled",
            )
        )
        return self._settle(changes, at, reason="customer_cancelled")

    # --- an operator (dispatch's console) -----------------------------------------------------

    def cancel_shipment(self, shipment_id: UUID, reason: str, *, at: datetime) -> Changes:
        """One store's part called off, as a customer cancel would (before pickup a cancel,
        after it a return) while the rest of the order goes on; the customer is not charged
        for its lines. A part already called off changes nothing; NotCancellable once it was
        delivered or failed."""
        shipment = self._known(shipment_id)
        if shipment.status in DROPPED or shipment.status is S.RETURNING:
            return Changes()
        if shipment.status not in CANCELLABLE_BY_CUSTOMER:
            raise NotCancellable
        changes = Changes()
        # Its holds are released from its live lines: call it off before dropping them.
        self._call_off(shipment, changes)
        for line in self.lines_of(shipment.id):
            line.is_cancelled = True
            self.total_cents -= line.quantity * line.unit_price_cents
        if any(s.status not in DROPPED and s.status is not S.RETURNING for s in self.shipments):
            changes.timeline.append(TimelineNote("item_cancelled", PART_CANCELLED))
        changes.events.append(
            OrderCancelled(
                order_id=self.id,
                mall_id=self.mall_id,
                shipment_ids=[shipment.id],
                reason=f"operator_cancelled: {reason}",
            )
        )
        # The storefront gets a reason of ours: the operator's words may name the store.
        return self._settle(changes, at, reason="cancelled_by_support")

    def tip(self, tip_cents: int, *, at: datetime) -> Changes:
        """Once per order, within a day of delivery; the same tip again changes nothing."""
        if self.tipped_at is not None:
            if self.tip_cents == tip_cents:
                return Changes()
            raise TipAlreadyGiven(self.tip_cents)
        if self.status is not S.DELIVERED or self.delivered_at is None:
            raise TipNotAllowed("Tips can be added once the order is delivered.")
        if at - self.delivered_at > TIP_WINDOW:
            raise TipNotAllowed("Tips can be added within 24 hours of delivery.")
        self.tip_cents, self.tipped_at = tip_cents, at
        changes = Changes(
            events=[
                OrderTipped(
                    order_id=self.id,
                    mall_id=self.mall_id,
                    tip_cents=tip_cents,
                    currency=self.currency,
                    at=at,
                )
            ],
            storefront=[StorefrontNotice(StorefrontEvent.TIP_ADDED)],
        )
        return self._settle(changes, at)

    # --- dispatch and the driver --------------------------------------------------------------

    def assign_driver(self, driver_id: UUID, route_id: UUID, *, at: datetime) -> Changes:
        self.driver_id, self.route_id = driver_id, route_id
        return self._settle(Changes(), at)

    def mark_at_risk(self, *, at: datetime) -> Changes:
        if self.is_at_risk:
            return Changes()
        self.is_at_risk = True
        return self._settle(Changes(timeline=[TimelineNote("delayed", RUNNING_LATE)]), at)

    def picked_up(
        self,
        shipment_id: UUID,
        driver_id: UUID,
        missing_labels: Sequence[str],
        *,
        at: datetime,
        dropoff_eta: datetime | None = None,
    ) -> Changes:
        shipment = self._known(shipment_id)
        changes = Changes()
        if shipment.status is S.CANCELLED and shipment.was_packed:
            # The scan beat the cancellation at the driver app: the cancel becomes a return.
            shipment.status = transition(shipment.status, S.RETURNING)
            if shipment.restocked_at is not None:
                shipment.restocked_at = None
                changes.stock += [
                    StockMove(StockMoveKind.UNRESTOCK, shipment.store_id, sku, quantity)
                    for sku, quantity in shipment.packed.items()
                    if quantity > 0
                ]
            changes.notices.append(StoreNotice(shipment.id, "order.returning"))
        else:
            shipment.status = transition(shipment.status, S.PICKED_UP)
            self.driver_id = driver_id
            shipment.dropoff_eta = dropoff_eta
        shipment.missing_labels = list(missing_labels)
        if missing_labels:
            changes.notices.append(StoreNotice(shipment.id, "order.packages_missing"))
        return self._settle(changes, at)

    def delivered(
        self, shipment_id: UUID, *, at: datetime, proof_photo_sha256: str | None = None
    ) -> Changes:
        shipment = self._known(shipment_id)
        shipment.status = transition(shipment.status, S.DELIVERED)
        shipment.delivered_at = at
        shipment.proof_photo_sha256 = proof_photo_sha256
        return self._settle(Changes(), at)

    def delivery_failed(self, shipment_id: UUID, *, at: datetime, reason: str = "") -> Changes:
        shipment = self._known(shipment_id)
        shipment.status = transition(shipment.status, S.DELIVERY_FAILED)
        # The driver app's reasons are a closed list; anything else is not repeated.
        said = reason if reason in DELIVERY_FAILURE_REASONS else "delivery_failed"
        return self._settle(Changes(), at, reason=said)

    def returned(self, shipment_id: UUID, *, at: datetime) -> Changes:
        shipment = self._known(shipment_id)
        shipment.status = transition(shipment.status, S.RETURNED_TO_STORE)
        return self._settle(Changes(notices=[StoreNotice(shipment.id, "order.returned")]), at)
