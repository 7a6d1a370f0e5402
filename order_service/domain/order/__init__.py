"""An order and its shipments: the only code that changes their state.

An order is filled by one or a few shipments (one per store); each shipment moves on its own and
the order shows the least advanced status of its live shipments. Every method either refuses
with a domain error and changes nothing, or changes the order and returns a `Changes`: the
events to publish, the stock to move, the store notices and the customer's timeline.

`Order` (lifecycle.py) builds on `StoreSteps` (store_steps.py) and `OrderState` (state.py).
"""

from order_service.domain.order.changes import (
    Changes,
    StockMove,
    StockMoveKind,
    StorefrontEvent,
    StorefrontNotice,
    StoreNotice,
    TimelineNote,
)
from order_service.domain.order.lifecycle import Order
from order_service.domain.order.parts import Line, Rerouting, Shipment, Store
from order_service.domain.order.status import (
    ALLOWED,
    CANCELLABLE_BY_CUSTOMER,
    CUSTOMER_MESSAGES,
    DELIVERY_FAILURE_REASONS,
    DROPPED,
    HOLDER,
    HOLDING_STOCK,
    ITEM_UNAVAILABLE,
    MALL_GEOFENCE_M,
    PART_CANCELLED,
    REROUTABLE,
    RUNNING_LATE,
    TIP_WINDOW,
    Party,
    S,
    ShipmentStatus,
    is_customer_cancellable,
    order_status,
    transition,
)

__all__ = [
    "ALLOWED",
    "CANCELLABLE_BY_CUSTOMER",
    "CUSTOMER_MESSAGES",
    "DELIVERY_FAILURE_REASONS",
    "DROPPED",
    "HOLDER",
    "HOLDING_STOCK",
    "ITEM_UNAVAILABLE",
    "MALL_GEOFENCE_M",
    "PART_CANCELLED",
    "REROUTABLE",
    "RUNNING_LATE",
    "TIP_WINDOW",
    "Changes",
    "Line",
    "Order",
    "Party",
    "Rerouting",
    "S",
    "Shipment",
    "ShipmentStatus",
    "StockMove",
    "StockMoveKind",
    "Store",
    "StoreNotice",
    "StorefrontEvent",
    "StorefrontNotice",
    "TimelineNote",
    "is_customer_cancellable",
    "order_status",
    "transition",
]
