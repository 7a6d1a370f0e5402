"""A shipment's status, the moves allowed between statuses, and what each means to the
customer and to the store.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from enum import StrEnum

from order_service.domain.errors import IllegalTransition


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
