"""An order and its shipments: the only code that changes their state.

An order is filled by one or a few shipments (one per store); each shipment moves on its own and
the order shows the least advanced status of its live shipments. Every method either refuses
with a domain error and changes nothing, or changes the order and returns a `Changes`: the
events to publish, the stock to move, the store notices and the customer's timeline.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

from order_service.domain.errors import (
    IllegalTransition,
    LineNotInShipment,
    NotCancellable,
    SoldOut,
    TipAlreadyGiven,
    TipNotAllowed,
    UnknownShipment,
)
from order_service.domain.selection import Assignment, Candidate, choose_stores, merge_lines
from shared.events.common import GeoPoint
from shared.events.envelope import Payload
from shared.events.order import (
    OrderAccepted,
    OrderCancelled,
    OrderDelivered,
    OrderLineRerouted,
    OrderPlaced,
    OrderReadyForPickup,
    OrderTipped,
    PlacedShipment,
    ShipmentLine,
)
from shared.geo import Point


class ShipmentStatus(StrEnum):
    PLACED = "placed"
    ACCEPTED = "accepted"
    PACKAGED = "packaged"
    PICKED_UP = "picked_up"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    REJECTED_BY_STORE = "rejected_by_store"
    DELIVERY_FAILED = "delivery_failed"
    # Cancelled by the customer after a driver picked it up: on its way back to its store.
    RETURNING = "returning"
    RETURNED_TO_STORE = "returned_to_store"


S = ShipmentStatus

ALLOWED: dict[ShipmentStatus, frozenset[ShipmentStatus]] = {
    S.PLACED: frozenset({S.ACCEPTED, S.CANCELLED, S.REJECTED_BY_STORE}),
    S.ACCEPTED: frozenset({S.PACKAGED, S.CANCELLED, S.REJECTED_BY_STORE}),
    S.PACKAGED: frozenset({S.PICKED_UP, S.CANCELLED, S.REJECTED_BY_STORE}),
    S.PICKED_UP: frozenset({S.DELIVERED, S.DELIVERY_FAILED, S.RETURNING}),
    S.DELIVERY_FAILED: frozenset({S.RETURNED_TO_STORE}),
    # The driver scanned it before the cancellation reached the driver app: now a return.
    S.CANCELLED: frozenset({S.RETURNING}),
    # The driver handed it over before the cancellation reached the driver app.
    S.RETURNING: frozenset({S.RETURNED_TO_STORE, S.DELIVERED}),
    S.DELIVERED: frozenset(),
    S.REJECTED_BY_STORE: frozenset(),
    S.RETURNED_TO_STORE: frozenset(),
}

# Shipments that no longer carry anything to the customer.
DROPPED = frozenset({S.CANCELLED, S.REJECTED_BY_STORE})
# Shipments whose stock is still held for them at the store.
HOLDING_STOCK = frozenset({S.PLACED, S.ACCEPTED})
# A customer cancel of these is a cancel (before pickup) or a return (after it).
CANCELLABLE_BY_CUSTOMER = frozenset({S.PLACED, S.ACCEPTED, S.PACKAGED, S.PICKED_UP})
# Shipments a store may still report items of as missing (after pickup: missing packages only).
REROUTABLE = frozenset({S.PLACED, S.ACCEPTED, S.PACKAGED, S.PICKED_UP})

_PROGRESS = [
    S.PLACED,
    S.ACCEPTED,
    S.PACKAGED,
    S.PICKED_UP,
    S.DELIVERY_FAILED,
    S.RETURNING,
    S.RETURNED_TO_STORE,
    S.DELIVERED,
]

CUSTOMER_MESSAGES: dict[ShipmentStatus, str] = {
    S.PLACED: "Order placed.",
    S.ACCEPTED: "Your order is being prepared.",
    S.PACKAGED: "Your order is packed and waiting for a driver.",
    S.PICKED_UP: "Your order is on its way.",
    S.DELIVERED: "Delivered.",
    S.CANCELLED: "Order cancelled; you will not be charged.",
    S.DELIVERY_FAILED: "We could not deliver your order; the driver is taking it back.",
    S.RETURNING: "Order cancelled; it is being returned and you will not be charged.",
    S.RETURNED_TO_STORE: "Your order was returned; you will be refunded.",
    S.REJECTED_BY_STORE: "Order cancelled; you will not be charged.",
}
ITEM_UNAVAILABLE = "An item became unavailable and was removed; you will not be charged for it."
PART_CANCELLED = "Part of your order was cancelled; you will not be charged for it."
RUNNING_LATE = "Your delivery may arrive later than promised; we are on it."
TIP_WINDOW = timedelta(hours=24)
DELIVERY_FAILURE_REASONS = frozenset({"no_access", "customer_absent", "unsafe"})
# Never show a driver's fix this close to a store of the mall: it would point at the store.
MALL_GEOFENCE_M = 300.0


def transition(current: ShipmentStatus, wanted: ShipmentStatus) -> ShipmentStatus:
    """The new status, or IllegalTransition; a repeat of the current status is refused too."""
    if wanted not in ALLOWED[current]:
        raise IllegalTransition(current.value, wanted.value)
    return wanted


def is_customer_cancellable(statuses: Iterable[ShipmentStatus]) -> bool:
    live = [s for s in statuses if s not in DROPPED]
    return bool(live) and all(s in CANCELLABLE_BY_CUSTOMER for s in live)


def order_status(statuses: Iterable[ShipmentStatus]) -> ShipmentStatus:
    """What the customer sees: cancelled if nothing is left, else the least advanced shipment.

    A failed delivery or a return is the customer's news even if another shipment went through.
    """
    live = [s for s in statuses if s not in DROPPED]
    if not live:
        return S.CANCELLED
    for problem in (S.DELIVERY_FAILED, S.RETURNING, S.RETURNED_TO_STORE):
        if problem in live:
            return problem
    return min(live, key=_PROGRESS.index)


class Party(StrEnum):
    """Who physically holds a shipment's goods."""

    STORE = "store"
    DRIVER = "driver"
    CUSTOMER = "customer"


HOLDER: dict[ShipmentStatus, Party] = {
    S.PLACED: Party.STORE,
    S.ACCEPTED: Party.STORE,
    S.PACKAGED: Party.STORE,
    S.CANCELLED: Party.STORE,
    S.REJECTED_BY_STORE: Party.STORE,
    S.RETURNED_TO_STORE: Party.STORE,
    S.PICKED_UP: Party.DRIVER,
    S.DELIVERY_FAILED: Party.DRIVER,
    S.RETURNING: Party.DRIVER,
    S.DELIVERED: Party.CUSTOMER,
}


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


@dataclass(frozen=True)
class Store:
    store_id: str
    mall_id: str
    mall_name: str
    name: str
    location: Point
    pickup_instructions: str
    is_active: bool = True


@dataclass
class Line:
    id: UUID
    shipment_id: UUID
    position: int
    offer_id: str
    sku: str
    title: str
    quantity: int
    unit_price_cents: int
    is_cancelled: bool = False


@dataclass
class Shipment:
    id: UUID
    order_id: UUID
    store_id: str
    status: ShipmentStatus
    package_count: int | None = None
    labels: list[str] = field(default_factory=list)
    ready_at: datetime | None = None
    created_at: datetime | None = None
    # Packages the driver could not find at the pickup scan.
    missing_labels: list[str] = field(default_factory=list)
    # sku -> quantity that left the shelf when it was packed (and has not been written off).
    packed: dict[str, int] = field(default_factory=dict)
    # The store confirmed goods that came back (cancelled after packing, or returned) are
    # on its shelf again.
    restocked_at: datetime | None = None
    # When the driver expects to reach the door, as the driver service planned it at pickup.
    dropoff_eta: datetime | None = None
    delivered_at: datetime | None = None
    # The proof photo's content hash; the driver service keeps the photo itself.
    proof_photo_sha256: str | None = None

    @property
    def was_packed(self) -> bool:
        return self.package_count is not None

    @property
    def holder(self) -> Party:
        return HOLDER[self.status]

    @property
    def is_off_the_shelf(self) -> bool:
        """Packed goods that are not (yet) back on the store's shelf."""
        return self.was_packed and self.restocked_at is None

    @property
    def is_restock_due(self) -> bool:
        return (
            self.was_packed
            and self.restocked_at is None
            and self.status in (S.CANCELLED, S.RETURNED_TO_STORE)
        )


@dataclass(frozen=True)
class Rerouting:
    """What a use case found out for a re-route: the other stores' free stock, locked."""

    candidates: Sequence[Candidate]
    new_id: Callable[[], UUID] = uuid.uuid4


@dataclass
class Order:
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

    # --- the store's POS ----------------------------------------------------------------------

    def _shipment_of_store(self, shipment_id: UUID, store_id: str) -> Shipment:
        shipment = self.shipment(shipment_id)
        if shipment is None or shipment.store_id != store_id:
            raise UnknownShipment
        return shipment

    def accepted(self, shipment_id: UUID, store_id: str, *, at: datetime) -> Changes:
        shipment = self._shipment_of_store(shipment_id, store_id)
        shipment.status = transition(shipment.status, S.ACCEPTED)
        changes = Changes(
            events=[
                OrderAccepted(
                    order_id=self.id,
                    shipment_id=shipment.id,
                    mall_id=self.mall_id,
                    store_id=store_id,
                )
            ]
        )
        return self._settle(changes, at)

    def packaged(
        self,
        shipment_id: UUID,
        store: Store,
        labels: Sequence[str],
        package_count: int | None,
        *,
        dropoff_address: str,
        dropoff_area: str,
        customer_first_name: str,
        at: datetime,
    ) -> Changes:
        shipment = self._shipment_of_store(shipment_id, store.store_id)
        shipment.status = transition(shipment.status, S.PACKAGED)
        shipment.labels = list(labels)
        shipment.package_count = package_count or len(labels)
        shipment.ready_at = at
        shipment.packed = merge_lines(
            [(line.sku, line.quantity) for line in self.lines_of(shipment.id)]
        )
        changes = Changes(
            stock=[
                StockMove(StockMoveKind.TAKE, shipment.store_id, sku, quantity)
                for sku, quantity in shipment.packed.items()
            ],
            events=[
                OrderReadyForPickup(
                    order_id=self.id,
                    shipment_id=shipment.id,
                    mall_id=self.mall_id,
                    mall_name=store.mall_name,
                    store_id=store.store_id,
                    store_name=store.name,
                    pickup_instructions=store.pickup_instructions,
                    pickup=GeoPoint(lat=store.location.lat, lng=store.location.lng),
                    package_count=shipment.package_count,
                    labels=shipment.labels,
                    ready_at=at,
                    deliver_by=self.deliver_by,
                    window_starts_at=self.window_starts_at,
                    dropoff=GeoPoint(lat=self.dropoff_lat, lng=self.dropoff_lng),
                    dropoff_address=dropoff_address,
                    dropoff_area=dropoff_area,
                    customer_first_name=customer_first_name,
                    pin_sha256=self.pin_sha256,
                )
            ],
        )
        return self._settle(changes, at)

    def out_of_stock(
        self,
        shipment_id: UUID,
        store_id: str,
        skus: Sequence[str],
        rerouting: Rerouting,
        *,
        at: datetime,
    ) -> Changes:
        """The store lacks these SKUs: their lines go to other stores of the mall, or are
        dropped when none has them. Before or after packing, and after a pickup that left
        packages behind."""
        shipment = self._shipment_of_store(shipment_id, store_id)
        self._check_reroutable(shipment)
        live = self.lines_of(shipment.id)
        missing = [line for line in live if line.sku in set(skus)]
        unknown = sorted(set(skus) - {line.sku for line in live})
        if unknown or not missing:
            raise LineNotInShipment(unknown or list(skus))
        if shipment.status is S.PICKED_UP and len(missing) == len(live):
            # The driver holds packages of it: something of it was there.
            raise LineNotInShipment(list(skus))
        changes = Changes()
        for line in missing:
            if shipment.status in HOLDING_STOCK:
                changes.stock.append(
                    StockMove(StockMoveKind.RELEASE, shipment.store_id, line.sku, line.quantity)
                )
            elif shipment.packed.get(line.sku, 0) > 0:
                written_off = min(line.quantity, shipment.packed[line.sku])
                shipment.packed[line.sku] -= written_off
                changes.stock.append(
                    StockMove(StockMoveKind.WRITE_OFF, shipment.store_id, line.sku, written_off)
                )
            changes.stock.append(StockMove(StockMoveKind.ZERO, shipment.store_id, line.sku, 0))
        self._reroute(shipment, missing, rerouting, changes, reason="out_of_stock")
        return self._settle(changes, at)

    def store_cancelled(
        self, shipment_id: UUID, store_id: str, reason: str, rerouting: Rerouting, *, at: datetime
    ) -> Changes:
        """The store cannot fill its part at all: everything goes to other stores of the mall."""
        shipment = self._shipment_of_store(shipment_id, store_id)
        if shipment.status not in (S.PLACED, S.ACCEPTED, S.PACKAGED):
            raise IllegalTransition(shipment.status.value, S.REJECTED_BY_STORE.value)
        changes = Changes()
        changes.stock += self._release_holds(shipment)
        if shipment.was_packed:
            # The store keeps what it packed and calls it off itself: it is back on its shelf.
            shipment.restocked_at = at
            changes.stock += self._restock_moves(shipment)
        self._reroute(
            shipment,
            self.lines_of(shipment.id),
            rerouting,
            changes,
            reason=f"store_cancelled: {reason}".strip(": "),
        )
        return self._settle(changes, at)

    def restocked(self, shipment_id: UUID, store_id: str, *, at: datetime) -> Changes:
        """The store confirms goods that came back are on its shelf again."""
        shipment = self._shipment_of_store(shipment_id, store_id)
        if not shipment.is_restock_due:
            raise IllegalTransition(shipment.status.value, "restocked")
        shipment.restocked_at = at
        return self._settle(Changes(stock=self._restock_moves(shipment)), at)

    def expire_unaccepted(
        self, shipment_id: UUID, rerouting: Rerouting, *, at: datetime
    ) -> Changes:
        """The store did not accept in time: the shipment goes to other stores of the mall."""
        shipment = self.shipment(shipment_id)
        if shipment is None or shipment.status is not S.PLACED:
            raise IllegalTransition(
                shipment.status.value if shipment else "unknown", S.REJECTED_BY_STORE.value
            )
        changes = Changes(notices=[StoreNotice(shipment.id, "order.cancelled")])
        changes.stock += self._release_holds(shipment)
        self._reroute(
            shipment, self.lines_of(shipment.id), rerouting, changes, reason="not_accepted_in_time"
        )
        return self._settle(changes, at)

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

    def _reroute(
        self,
        shipment: Shipment,
        missing: list[Line],
        rerouting: Rerouting,
        changes: Changes,
        *,
        reason: str,
    ) -> None:
        """Moves lines (whose hold at `shipment`'s store is already released) to other stores
        of the mall; drops what none can fill; rejects the shipment once it has no lines."""
        cart = merge_lines([(line.sku, line.quantity) for line in missing])
        exclude = self.tried_store_ids() | {shipment.store_id}
        candidates = [c for c in rerouting.candidates if c.store_id not in exclude]
        dropoff = Point(self.dropoff_lat, self.dropoff_lng)
        try:
            assignments = choose_stores(cart, candidates, dropoff)
        except SoldOut:
            assignments = []
            for sku, quantity in cart.items():
                try:
                    assignments += choose_stores({sku: quantity}, candidates, dropoff)
                except SoldOut:
                    continue
                # The next SKU must not count on the stock this one just took.
                candidates = _minus(candidates, assignments[-1])
        moved: set[str] = set()
        for store_id in dict.fromkeys(a.store_id for a in assignments):
            quantities = {
                sku: q
                for a in assignments
                if a.store_id == store_id
                for sku, q in a.quantities.items()
            }
            target = Shipment(
                id=rerouting.new_id(), order_id=self.id, store_id=store_id, status=S.PLACED
            )
            self.shipments.append(target)
            changes.stock += [
                StockMove(StockMoveKind.RESERVE, store_id, sku, quantity)
                for sku, quantity in quantities.items()
            ]
            for line in missing:
                if line.sku in quantities:
                    line.shipment_id = target.id
                    moved.add(line.sku)
            changes.events.append(
                OrderLineRerouted(
                    order_id=self.id,
                    mall_id=self.mall_id,
                    from_shipment_id=shipment.id,
                    from_store_id=shipment.store_id,
                    to_shipment_id=target.id,
                    to_store_id=store_id,
                    lines=[ShipmentLine(sku=s, quantity=q) for s, q in quantities.items()],
                )
            )
            changes.notices.append(StoreNotice(target.id, "order.created"))
        dropped = [line for line in missing if line.sku not in moved]
        for line in dropped:
            line.is_cancelled = True
            self.total_cents -= line.quantity * line.unit_price_cents
        if dropped:
            changes.timeline.append(TimelineNote("item_unavailable", ITEM_UNAVAILABLE))
        if not self.lines_of(shipment.id):
            shipment.status = transition(shipment.status, S.REJECTED_BY_STORE)
            # Dispatch and the driver know packed shipments: they must drop its stops.
            is_order_gone = order_status(s.status for s in self.shipments) is S.CANCELLED
            if shipment.was_packed or is_order_gone:
                changes.events.append(
                    OrderCancelled(
                        order_id=self.id,
                        mall_id=self.mall_id,
                        shipment_ids=[shipment.id],
                        reason=reason if not moved else "rerouted",
                    )
                )

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
            notice = _storefront_notice(self.status, reason)
            if notice is not None:
                changes.storefront.append(notice)
        return changes


def _storefront_notice(now: ShipmentStatus, reason: str | None) -> StorefrontNotice | None:
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


def _minus(candidates: Sequence[Candidate], taken: Assignment) -> list[Candidate]:
    return [
        c
        if c.store_id != taken.store_id
        else Candidate(
            store_id=c.store_id,
            mall_id=c.mall_id,
            location=c.location,
            available={
                sku: free - taken.quantities.get(sku, 0) for sku, free in c.available.items()
            },
            load=c.load,
        )
        for c in candidates
    ]
