"""The customer's side: reading an order as they see it, cancelling, tipping; and an
operator's cancel of one shipment.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from order_service.domain.order import MALL_GEOFENCE_M, Changes, Order, Shipment
from order_service.outgoing import Outgoing
from order_service.store import directory
from order_service.store import orders as store
from order_service.store.orders import TimelineEntry
from order_service.usecases.base import S, locked, save_step
from shared.db import Tx
from shared.geo import Point, TravelModel, haversine_m
from shared.malls import pilot_malls

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DriverPosition:
    lat: float
    lng: float
    at: datetime


@dataclass(frozen=True)
class CustomerOrder:
    order: Order
    timeline: list[TimelineEntry]
    eta: datetime | None
    driver: DriverPosition | None


async def order_for_customer(
    tx: Tx, order_id: UUID, customer_id: str, now: datetime
) -> CustomerOrder | None:
    order = await store.get_order(tx, order_id)
    if order is None or order.customer_id != customer_id:
        return None
    return await _as_the_customer_sees_it(tx, order, now)


async def order_for_tracking(tx: Tx, token: str, now: datetime) -> CustomerOrder | None:
    """The order behind a tracking page's token, as its shopper sees it."""
    order_id = await store.order_id_of_tracking_token(tx, token)
    order = await store.get_order(tx, order_id) if order_id is not None else None
    return None if order is None else await _as_the_customer_sees_it(tx, order, now)


async def _as_the_customer_sees_it(tx: Tx, order: Order, now: datetime) -> CustomerOrder:
    """The timeline, an ETA, and the driver's position once it no longer points at a store:
    after the pickup, and only away from the mall."""
    driver: DriverPosition | None = None
    eta: datetime | None = order.dropoff_eta() or order.deliver_by
    history = await store.timeline(tx, order.id)
    picked_up_at = max((e.at for e in history if e.status == S.PICKED_UP.value), default=None)
    if order.is_driver_shown() and order.driver_id is not None and picked_up_at is not None:
        position = await store.driver_position(tx, order.driver_id)
        # A fix from before the pickup, or one still near the mall's stores, names the store.
        if position is not None and position[2] > picked_up_at:
            fix = Point(position[0], position[1])
            places = await directory.mall_store_points(tx, order.mall_id)
            places += [mall.point for mall in pilot_malls() if mall.id == order.mall_id]
            if all(haversine_m(fix, point) > MALL_GEOFENCE_M for point in places):
                driver = DriverPosition(*position)
                seconds = TravelModel().travel_seconds(
                    fix, Point(order.dropoff_lat, order.dropoff_lng)
                )
                eta = now + timedelta(seconds=seconds)
    if order.status in (
        S.DELIVERED,
        S.CANCELLED,
        S.RETURNING,
        S.RETURNED_TO_STORE,
        S.DELIVERY_FAILED,
    ):
        eta = None
    return CustomerOrder(order, history, eta, driver)


async def _customers(tx: Tx, order_id: UUID, customer_id: str) -> Order | None:
    order = await locked(tx, order_id)
    return order if order is not None and order.customer_id == customer_id else None


async def cancel_by_customer(
    tx: Tx, order_id: UUID, customer_id: str, now: datetime, outgoing: Outgoing
) -> bool:
    """False if the order is not this customer's; NotCancellable once anything was delivered.
    After a pickup the cancel is a return to the store."""
    order = await _customers(tx, order_id, customer_id)
    if order is None:
        return False
    await save_step(tx, order, order.cancel_by_customer(at=now), now, outgoing)
    log.info("order_cancelled", extra={"order_id": str(order.id), "by": "customer"})
    return True


async def tip(
    tx: Tx, order_id: UUID, customer_id: str, tip_cents: int, now: datetime, outgoing: Outgoing
) -> bool:
    """False if the order is not this customer's; TipNotAllowed or TipAlreadyGiven."""
    order = await _customers(tx, order_id, customer_id)
    if order is None:
        return False
    await save_step(tx, order, order.tip(tip_cents, at=now), now, outgoing)
    log.info("order_tipped", extra={"order_id": str(order.id)})
    return True


async def cancel_shipment_by_operator(
    tx: Tx, shipment_id: UUID, reason: str, now: datetime, outgoing: Outgoing
) -> tuple[Order, Shipment] | None:
    """One store's part of an order called off by an operator (from dispatch's console), as a
    customer cancel would: after the pickup it becomes a return. None for an unknown shipment;
    NotCancellable once it was delivered or failed. Calling it off again changes nothing."""
    order = await locked(tx, await store.order_id_of_shipment(tx, shipment_id))
    shipment = order.shipment(shipment_id) if order else None
    if order is None or shipment is None:
        return None
    changes = order.cancel_shipment(shipment_id, reason, at=now)
    if changes != Changes():
        await save_step(tx, order, changes, now, outgoing)
        log.info(
            "shipment_cancelled",
            extra={
                "shipment_id": str(shipment.id),
                "status": shipment.status.value,
                "by": "operator",
            },
        )
    return order, shipment
