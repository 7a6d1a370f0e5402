"""An order and its shipments: the only code that changes their state.

An order is filled by one or a few shipments (one per store); each shipment moves on its own and
the order shows the least advanced status of its live shipments. Every method either refuses
with a domain error and changes nothing, or changes the order and returns a `Changes`: the
events to publish, the stock to move, the store notices and the customer's timeline.

`Order` (lifecycle.py) builds on `StoreSteps` (store_steps.py) and `OrderState` (state.py).
"""

from order_service.domain.order.changes import Changes as Changes
from order_service.domain.order.changes import StockMove as StockMove
from order_service.domain.order.changes import StockMoveKind as StockMoveKind
from order_service.domain.order.changes import StorefrontEvent as StorefrontEvent
from order_service.domain.order.changes import StorefrontNotice as StorefrontNotice
from order_service.domain.order.changes import StoreNotice as StoreNotice
from order_service.domain.order.changes import TimelineNote as TimelineNote
from order_service.domain.order.lifecycle import Order as Order
from order_service.domain.order.parts import Line as Line
from order_service.domain.order.parts import Rerouting as Rerouting
from order_service.domain.order.parts import Shipment as Shipment
from order_service.domain.order.parts import Store as Store
from order_service.domain.order.status import ALLOWED as ALLOWED
from order_service.domain.order.status import CANCELLABLE_BY_CUSTOMER as CANCELLABLE_BY_CUSTOMER
from order_service.domain.order.status import CUSTOMER_MESSAGES as CUSTOMER_MESSAGES
from order_service.domain.order.status import DELIVERY_FAILURE_REASONS as DELIVERY_FAILURE_REASONS
from order_service.domain.order.status import DROPPED as DROPPED
from order_service.domain.order.status import HOLDER as HOLDER
from order_service.domain.order.status import HOLDING_STOCK as HOLDING_STOCK
from order_service.domain.order.status import ITEM_UNAVAILABLE as ITEM_UNAVAILABLE
from order_service.domain.order.status import MALL_GEOFENCE_M as MALL_GEOFENCE_M
from order_service.domain.order.status import PART_CANCELLED as PART_CANCELLED
from order_service.domain.order.status import REROUTABLE as REROUTABLE
from order_service.domain.order.status import RUNNING_LATE as RUNNING_LATE
from order_service.domain.order.status import TIP_WINDOW as TIP_WINDOW
from order_service.domain.order.status import Party as Party
from order_service.domain.order.status import S as S
from order_service.domain.order.status import ShipmentStatus as ShipmentStatus
from order_service.domain.order.status import is_customer_cancellable as is_customer_cancellable
from order_service.domain.order.status import order_status as order_status
from order_service.domain.order.status import transition as transition

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
