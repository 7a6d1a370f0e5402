"""What every order use case shares: loading an order under its row lock, and saving a step
(the order, its stock, timeline, events and webhooks) in the caller's transaction.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from uuid import UUID

import orjson

from order_service import metrics
from order_service.domain.checkout import RetailerLine, RetailerOrder, first_name
from order_service.domain.errors import UnknownShipment
from order_service.domain.order import Changes, Order, Shipment, ShipmentStatus, StorefrontNotice
from order_service.outgoing import Outgoing, storefront_body
from order_service.store import directory, pos, webhooks
from order_service.store import orders as store
from order_service.store.webhooks import Recipient, RecipientKind
from shared import outbox, tracing
from shared.db import Tx
from shared.events.order import OrderDelivered

S = ShipmentStatus
# A timeline note with one of these is a change of the order's status (others are notices).
STATUSES = frozenset(status.value for status in ShipmentStatus)


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _key(order: Order) -> str:
    # What must stay in order is one order's events; consumers read the mall from the payload.
    # A mall key would make every checkout of a mall wait on the outbox's per-key writer lock.
    return str(order.id)


async def save_step(
    tx: Tx,
    order: Order,
    changes: Changes,
    now: datetime,
    outgoing: Outgoing,
    *,
    is_new: bool = False,
) -> None:
    """The other half of every use case: the order, its stock, timeline, events and webhooks
    (to its stores and to the storefront), all in the caller's transaction."""
    if is_new:
        await store.insert_order(tx, order)
    else:
        await store.save_order(tx, order, now)
    # With tracing on, the checkout's trace goes on through every later step of the order.
    checkout_trace: dict[str, str] | None = None
    if tracing.enabled():
        if is_new:
            checkout_trace = tracing.current_context()
            if checkout_trace:
                await store.set_trace_context(tx, order.id, checkout_trace)
        elif changes.events:
            checkout_trace = await store.trace_context(tx, order.id)
    await directory.apply_moves(tx, changes.stock)
    for note in changes.timeline:
        await store.add_timeline(tx, order.id, now, note.status, note.message)
        if note.status in STATUSES:
            metrics.ORDERS.labels(order.mall_id, note.status).inc()
    with tracing.continuing("order step", [checkout_trace]):
        # One writer lock, one INSERT and one NOTIFY for all the step's events.
        await outbox.add_many(tx, [(event, _key(order)) for event in changes.events])
    for event in changes.events:
        if isinstance(event, OrderDelivered) and event.delivered_at > order.deliver_by:
            metrics.PROMISE_MISSES.labels(order.mall_id).inc()
    for notice in changes.notices:
        shipment = order.shipment(notice.shipment_id)
        if shipment is not None:
            await _notify_store(tx, order, shipment, notice.event_type, now, outgoing)
    for storefront_notice in changes.storefront:
        await _notify_storefront(tx, order, storefront_notice, now, outgoing)


async def locked(tx: Tx, order_id: UUID | None) -> Order | None:
    return await store.get_order(tx, order_id, for_update=True) if order_id else None


async def locked_by_shipment(tx: Tx, shipment_id: UUID) -> Order:
    order = await locked(tx, await store.order_id_of_shipment(tx, shipment_id))
    if order is None:
        raise UnknownShipment
    return order


# A store is shown the lines of a part called off as a whole: they come back to it.
_CALLED_OFF = frozenset({S.CANCELLED, S.RETURNING, S.RETURNED_TO_STORE})


def retailer_view(order: Order, shipment: Shipment) -> RetailerOrder:
    return RetailerOrder(
        shipment_id=shipment.id,
        status=shipment.status.value,
        placed_at=order.created_at,
        deliver_by=order.deliver_by,
        customer_first_name=first_name(order.contact_name),
        lines=[
            RetailerLine(sku=line.sku, title=line.title, quantity=line.quantity)
            for line in order.lines
            if line.shipment_id == shipment.id
            and (not line.is_cancelled or shipment.status in _CALLED_OFF)
        ],
        package_count=shipment.package_count,
        labels=shipment.labels,
        missing_labels=shipment.missing_labels,
        is_restock_due=shipment.is_restock_due,
    )


async def _notify_store(
    tx: Tx, order: Order, shipment: Shipment, event_type: str, now: datetime, outgoing: Outgoing
) -> None:
    if await pos.webhook_url_of(tx, shipment.store_id, now) is None:
        return
    body = orjson.dumps(
        {"type": event_type, "data": retailer_view(order, shipment).model_dump(mode="json")}
    )
    await webhooks.enqueue(
        tx,
        delivery_id=uuid.uuid4(),
        recipient=Recipient(RecipientKind.STORE, shipment.store_id),
        order_key=str(order.id),
        event_type=event_type,
        body=body,
        now=now,
        retry_until=now + outgoing.webhook_retry,
    )


async def _notify_storefront(
    tx: Tx, order: Order, notice: StorefrontNotice, now: datetime, outgoing: Outgoing
) -> None:
    """One delivery per storefront endpoint that listens for this type, queued with the
    change that caused it."""
    endpoint_ids = await webhooks.subscribed_endpoints(tx, notice.event.value)
    if not endpoint_ids:
        return
    body = storefront_body(order, notice, outgoing, now)
    for endpoint_id in endpoint_ids:
        await webhooks.enqueue(
            tx,
            delivery_id=uuid.uuid4(),
            recipient=Recipient(RecipientKind.ENDPOINT, str(endpoint_id)),
            order_key=str(order.id),
            event_type=notice.event.value,
            body=body,
            now=now,
            retry_until=now + outgoing.webhook_retry,
        )
