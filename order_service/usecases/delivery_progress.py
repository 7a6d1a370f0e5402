"""Following dispatch and the driver: pickup, delivery, expiry, assignment, promises at risk."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from uuid import UUID

from order_service.domain.errors import IllegalTransition
from order_service.domain.order import Changes, Order
from order_service.outgoing import Outgoing
from order_service.store import orders as store
from order_service.usecases.base import S, locked, save_step
from order_service.usecases.checkout import rerouting_for
from shared.db import Tx

log = logging.getLogger(__name__)


async def follow_delivery(
    tx: Tx,
    shipment_id: UUID,
    step: Callable[[Order], Changes],
    now: datetime,
    outgoing: Outgoing,
) -> bool:
    """Applies a delivery step the driver service reported; an unknown shipment or an illegal
    step is logged and refused (the event is not redelivered: retrying cannot make it legal)."""
    order_id = await store.order_id_of_shipment(tx, shipment_id)
    order = await locked(tx, order_id)
    if order is None:
        log.warning("unknown_shipment", extra={"shipment_id": str(shipment_id)})
        return False
    try:
        changes = step(order)
    except IllegalTransition as error:
        log.warning(
            "illegal_transition_refused",
            extra={"shipment_id": str(shipment_id), "from": error.current, "to": error.wanted},
        )
        return False
    await save_step(tx, order, changes, now, outgoing)
    return True


async def expire_unaccepted(
    tx: Tx, now: datetime, ttl: timedelta, outgoing: Outgoing, limit: int = 20
) -> int:
    """Shipments a store did not accept within `ttl`: their stock is released and their lines
    go to another store of the mall (or are dropped). Returns how many expired."""
    expired = 0
    for shipment_id in await store.shipments_placed_before(tx, now - ttl, limit):
        order = await locked(tx, await store.order_id_of_shipment(tx, shipment_id))
        shipment = order.shipment(shipment_id) if order else None
        # Re-checked under the order's lock: the store may have accepted meanwhile.
        if order is None or shipment is None or shipment.status is not S.PLACED:
            continue
        rerouting = await rerouting_for(tx, order, order.rerouting_skus(shipment_id))
        changes = order.expire_unaccepted(shipment_id, rerouting, at=now)
        await save_step(tx, order, changes, now, outgoing)
        log.info(
            "reservation_expired",
            extra={"shipment_id": str(shipment.id), "store_id": shipment.store_id},
        )
        expired += 1
    return expired


async def assign_driver(
    tx: Tx,
    order_ids: list[UUID],
    driver_id: UUID,
    route_id: UUID,
    now: datetime,
    outgoing: Outgoing,
) -> None:
    for order_id in await store.known_order_ids(tx, order_ids):
        order = await locked(tx, order_id)
        if order is not None:
            changes = order.assign_driver(driver_id, route_id, at=now)
            await save_step(tx, order, changes, now, outgoing)


async def mark_at_risk(tx: Tx, order_id: UUID, now: datetime, outgoing: Outgoing) -> None:
    order = await locked(tx, order_id)
    if order is not None:
        await save_step(tx, order, order.mark_at_risk(at=now), now, outgoing)
