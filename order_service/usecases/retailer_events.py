"""What a store's POS reports about its shipment: accepted, packed, missing items, cancelled."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from order_service.domain.checkout import Address, RetailerEventType, first_name
from order_service.domain.errors import UnknownShipment
from order_service.domain.order import Changes, Order, ShipmentStatus
from order_service.outgoing import Outgoing
from order_service.store import directory, pos
from order_service.usecases.base import locked_by_shipment, save_step
from order_service.usecases.checkout import rerouting_for
from shared.db import Tx

log = logging.getLogger(__name__)


class WebhookReplayed(Exception):
    pass


@dataclass(frozen=True)
class RetailerEvent:
    type: RetailerEventType
    shipment_id: UUID
    labels: tuple[str, ...] = ()
    package_count: int | None = None
    skus: tuple[str, ...] = ()
    reason: str = ""


async def apply_retailer_event(
    tx: Tx,
    store_id: str,
    webhook_id: str,
    event: RetailerEvent,
    now: datetime,
    outgoing: Outgoing,
) -> ShipmentStatus:
    """Applies a verified POS event. Raises WebhookReplayed, UnknownShipment, IllegalTransition
    or LineNotInShipment; the caller's transaction then rolls back, so nothing changes."""
    if not await pos.remember_webhook_id(tx, store_id, webhook_id, now):
        raise WebhookReplayed
    order = await locked_by_shipment(tx, event.shipment_id)
    changes = await _retailer_step(tx, order, store_id, event, now)
    await save_step(tx, order, changes, now, outgoing)
    shipment = order.shipment(event.shipment_id)
    assert shipment is not None
    log.info(
        "retailer_event_applied",
        extra={"shipment_id": str(shipment.id), "type": event.type.value, "store_id": store_id},
    )
    return shipment.status


async def _retailer_step(
    tx: Tx, order: Order, store_id: str, event: RetailerEvent, now: datetime
) -> Changes:
    sid = event.shipment_id
    if event.type is RetailerEventType.ACCEPTED:
        return order.accepted(sid, store_id, at=now)
    if event.type is RetailerEventType.PACKAGED:
        stores = await directory.get_stores(tx, [store_id])
        if store_id not in stores:
            raise UnknownShipment
        address = Address.model_validate(order.address)
        return order.packaged(
            sid,
            stores[store_id],
            event.labels,
            event.package_count,
            dropoff_address=address.one_line(),
            dropoff_area=address.area(),
            customer_first_name=first_name(order.contact_name),
            at=now,
        )
    if event.type is RetailerEventType.RESTOCKED:
        return order.restocked(sid, store_id, at=now)
    if event.type is RetailerEventType.OUT_OF_STOCK:
        rerouting = await rerouting_for(tx, order, order.rerouting_skus(sid, event.skus))
        return order.out_of_stock(sid, store_id, event.skus, rerouting, at=now)
    rerouting = await rerouting_for(tx, order, order.rerouting_skus(sid))
    return order.store_cancelled(sid, store_id, event.reason, rerouting, at=now)
