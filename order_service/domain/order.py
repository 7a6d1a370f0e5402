"""The shipment state machine and the order status a customer sees.

An order is filled by one or a few shipments (one per store); each shipment moves on its own and
the order shows the least advanced status of its live shipments.
"""

from __future__ import annotations

from collections.abc import Iterable
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
    RETURNED_TO_STORE = "returned_to_store"


S = ShipmentStatus

ALLOWED: dict[ShipmentStatus, frozenset[ShipmentStatus]] = {
    S.PLACED: frozenset({S.ACCEPTED, S.CANCELLED, S.REJECTED_BY_STORE}),
    S.ACCEPTED: frozenset({S.PACKAGED, S.CANCELLED, S.REJECTED_BY_STORE}),
    S.PACKAGED: frozenset({S.PICKED_UP, S.CANCELLED}),
    S.PICKED_UP: frozenset({S.DELIVERED, S.DELIVERY_FAILED}),
    S.DELIVERY_FAILED: frozenset({S.RETURNED_TO_STORE}),
    S.DELIVERED: frozenset(),
    S.CANCELLED: frozenset(),
    S.REJECTED_BY_STORE: frozenset(),
    S.RETURNED_TO_STORE: frozenset(),
}

# Shipments that no longer carry anything to the customer.
DROPPED = frozenset({S.CANCELLED, S.REJECTED_BY_STORE})
# Shipments whose stock is still held for them at the store.
HOLDING_STOCK = frozenset({S.PLACED, S.ACCEPTED})
CANCELLABLE_BY_CUSTOMER = frozenset({S.PLACED, S.ACCEPTED, S.PACKAGED})

_PROGRESS = [
    S.PLACED,
    S.ACCEPTED,
    S.PACKAGED,
    S.PICKED_UP,
    S.DELIVERY_FAILED,
    S.RETURNED_TO_STORE,
    S.DELIVERED,
]


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

    A failed delivery is the customer's news even if another shipment went through.
    """
    live = [s for s in statuses if s not in DROPPED]
    if not live:
        return S.CANCELLED
    for problem in (S.DELIVERY_FAILED, S.RETURNED_TO_STORE):
        if problem in live:
            return problem
    return min(live, key=_PROGRESS.index)
