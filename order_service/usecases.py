"""Load (under the order's row lock), call one domain method, save, add its events to the
outbox, all in the caller's transaction."""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import orjson

from order_service import metrics
from order_service.catalog_client import Offer
from order_service.domain.checkout import (
    Address,
    CartLine,
    Contact,
    RetailerEventType,
    RetailerLine,
    RetailerOrder,
    first_name,
    is_within,
)
from order_service.domain.errors import IllegalTransition, UnknownShipment
from order_service.domain.order import (
    DROPPED,
    MALL_GEOFENCE_M,
    Changes,
    Order,
    Rerouting,
    Shipment,
    ShipmentStatus,
)
from order_service.domain.selection import Candidate, choose_stores, merge_lines
from order_service.store import directory, pos
from order_service.store import orders as store
from order_service.store.orders import TimelineEntry
from shared import outbox, tracing
from shared.db import Tx
from shared.events.order import OrderDelivered
from shared.geo import Point, TravelModel, haversine_m
from shared.malls import pilot_malls

log = logging.getLogger(__name__)

S = ShipmentStatus
# A timeline note with one of these is a change of the order's status (others are notices).
STATUSES = frozenset(status.value for status in ShipmentStatus)


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


def request_fingerprint(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_pin() -> str:
    return f"{secrets.randbelow(10_000):04d}"


def _key(order: Order) -> str:
    return order.mall_id


async def _save(
    tx: Tx, order: Order, changes: Changes, now: datetime, *, is_new: bool = False
) -> None:
    """The other half of every use case: the order, its stock, timeline, events and webhooks."""
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
        for event in changes.events:
            await outbox.add(tx, event, key=_key(order))
            if isinstance(event, OrderDelivered) and event.delivered_at > order.deliver_by:
                metrics.PROMISE_MISSES.labels(order.mall_id).inc()
    for notice in changes.notices:
        shipment = order.shipment(notice.shipment_id)
        if shipment is not None:
            await _notify_store(tx, order, shipment, notice.event_type, now)


async def _locked(tx: Tx, order_id: UUID | None) -> Order | None:
    return await store.get_order(tx, order_id, for_update=True) if order_id else None


async def _locked_by_shipment(tx: Tx, shipment_id: UUID) -> Order:
    order = await _locked(tx, await store.order_id_of_shipment(tx, shipment_id))
    if order is None:
        raise UnknownShipment
    return order



# --- checkout --------------------------------------------------------------------------------


class OutsideDeliveryArea(Exception):
    """The address is outside the delivery area of a mall whose offer is in the cart."""


def check_delivery_area(address: Address, offers: Mapping[str, Offer]) -> None:
    dropoff = Point(address.lat, address.lng)
    for offer in offers.values():
        area = offer.delivery_area
        if not is_within(Point(area.lat, area.lng), area.radius_m, dropoff):
            raise OutsideDeliveryArea


async def seed_from_offers(tx: Tx, offers: Mapping[str, Offer]) -> None:
    """Stores and counts the catalog just told us about, where we have none of our own yet."""
    seeds = {
        s.store_id: directory.SeedStore(
            store_id=s.store_id,
            mall_id=s.mall_id,
            mall_name=s.mall_name,
            name=s.store_name,
            lat=s.lat,
            lng=s.lng,
            pickup_instructions=s.pickup_instructions,
            prep_minutes=s.prep_minutes,
        )
        for offer in offers.values()
        for s in offer.stores
    }
    await directory.seed_stores(tx, list(seeds.values()))
    await directory.seed_stock(
        tx, [(s.store_id, offer.sku, s.quantity) for offer in offers.values() for s in offer.stores]
    )


async def place_order(
    tx: Tx,
    *,
    customer_id: str,
    lines: Sequence[CartLine],
    address: Address,
    contact: Contact,
    offers: Mapping[str, Offer],
    idempotency_key: str,
    pin: str | None,
    now: datetime,
) -> Order:
    """Chooses the stores, reserves their stock under row locks, and records the order.

    Raises SoldOut (naming SKUs) when no mall can fill the cart; nothing is reserved then.
    """
    cart = merge_lines([(offers[line.offer_id].sku, line.quantity) for line in lines])
    pairs = {(s.store_id, o.sku) for o in offers.values() for s in o.stores if o.sku in cart}
    dropoff = Point(address.lat, address.lng)
    candidates = await _candidates(tx, pairs)
    order, changes = Order.place(
        order_id=uuid.uuid4(),
        customer_id=customer_id,
        assignments=choose_stores(cart, candidates, dropoff),
        lines=[
            (
                line.offer_id,
                offers[line.offer_id].sku,
                offers[line.offer_id].title,
                line.quantity,
                offers[line.offer_id].price_cents,
            )
            for line in lines
        ],
        deliver_by=max(offer.deliver_by for offer in offers.values()),
        currency=next(iter(offers.values())).currency,
        address=address.model_dump(),
        dropoff=dropoff,
        contact_name=contact.name,
        contact_phone=contact.phone,
        pin=pin,
        pin_sha256=sha256_hex(pin) if pin is not None else None,
        new_id=uuid.uuid4,
        at=now,
    )
    await _save(tx, order, changes, now, is_new=True)
    await store.complete_idempotency_key(tx, customer_id, idempotency_key, order.id)
    log.info("order_placed", extra={"order_id": str(order.id), "shipments": len(order.shipments)})
    return order


async def _candidates(tx: Tx, pairs: set[tuple[str, str]]) -> list[Candidate]:
    """The active stores holding these (store, sku) pairs, with their free stock, locked."""
    available = await directory.lock_available(tx, pairs)
    store_ids = {store_id for store_id, _ in available}
    rows = await directory.get_stores(tx, store_ids)
    loads = await directory.loads(tx, store_ids)
    return [
        Candidate(
            store_id=row.store_id,
            mall_id=row.mall_id,
            location=row.location,
            available={sku: free for (sid, sku), free in available.items() if sid == row.store_id},
            load=loads.get(row.store_id, 0),
        )
        for row in rows.values()
        if row.is_active
    ]


async def _rerouting(tx: Tx, order: Order, skus: Sequence[str]) -> Rerouting:
    pairs = set(await directory.mall_stock_pairs(tx, order.mall_id, skus))
    return Rerouting(candidates=await _candidates(tx, pairs))


# --- customer reads, cancel and tip ----------------------------------------------------------


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
    driver: DriverPosition | None = None
    eta: datetime | None = order.deliver_by
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
    order = await _locked(tx, order_id)
    return order if order is not None and order.customer_id == customer_id else None


async def cancel_by_customer(tx: Tx, order_id: UUID, customer_id: str, now: datetime) -> bool:
    """False if the order is not this customer's; NotCancellable once anything was delivered.
    After a pickup the cancel is a return to the store."""
    order = await _customers(tx, order_id, customer_id)
    if order is None:
        return False
    await _save(tx, order, order.cancel_by_customer(at=now), now)
    log.info("order_cancelled", extra={"order_id": str(order.id), "by": "customer"})
    return True


async def tip(tx: Tx, order_id: UUID, customer_id: str, tip_cents: int, now: datetime) -> bool:
    """False if the order is not this customer's; TipNotAllowed or TipAlreadyGiven."""
    order = await _customers(tx, order_id, customer_id)
    if order is None:
        return False
    await _save(tx, order, order.tip(tip_cents, at=now), now)
    log.info("order_tipped", extra={"order_id": str(order.id)})
    return True


async def cancel_shipment_by_operator(
    tx: Tx, shipment_id: UUID, reason: str, now: datetime
) -> tuple[Order, Shipment] | None:
    """One store's part of an order called off by an operator (from dispatch's console), as a
    customer cancel would: after the pickup it becomes a return. None for an unknown shipment;
    NotCancellable once it was delivered or failed. Calling it off again changes nothing."""
    order = await _locked(tx, await store.order_id_of_shipment(tx, shipment_id))
    shipment = order.shipment(shipment_id) if order else None
    if order is None or shipment is None:
        return None
    changes = order.cancel_shipment(shipment_id, reason, at=now)
    if changes != Changes():
        await _save(tx, order, changes, now)
        log.info(
            "shipment_cancelled",
            extra={
                "shipment_id": str(shipment.id),
                "status": shipment.status.value,
                "by": "operator",
            },
        )
    return order, shipment


# --- retailer side ---------------------------------------------------------------------------


async def provision_pos(
    tx: Tx, store_id: str, webhook_url: str | None, now: datetime, grace: timedelta
) -> tuple[str, str]:
    """A new API key and webhook secret for a store, returned once; the previous pair stays
    valid for `grace` so the store can rotate without downtime."""
    api_key = "mth_sk_" + secrets.token_urlsafe(32)
    webhook_secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    await pos.add_credentials(
        tx,
        credential_id=uuid.uuid4(),
        store_id=store_id,
        api_key_sha256=sha256_hex(api_key),
        webhook_secret=webhook_secret,
        webhook_url=webhook_url,
        now=now,
        previous_expire_at=now + grace,
    )
    log.info("pos_credentials_issued", extra={"store_id": store_id})
    return api_key, webhook_secret


async def filling_stores(tx: Tx, order_id: UUID) -> list[tuple[str, UUID]]:
    """(store, shipment) of each shipment still filling the order; for operators only."""
    order = await store.get_order(tx, order_id)
    if order is None:
        return []
    return [(s.store_id, s.id) for s in order.shipments if s.status not in DROPPED]


async def webhook_secrets(tx: Tx, store_id: str, now: datetime) -> list[str]:
    return await pos.webhook_secrets(tx, store_id, now)


async def webhook_url(tx: Tx, store_id: str, now: datetime) -> str | None:
    return await pos.webhook_url_of(tx, store_id, now)


async def store_for_api_key(tx: Tx, api_key: str, now: datetime) -> str | None:
    return await pos.store_of_api_key(tx, sha256_hex(api_key), now)


async def store_stock(tx: Tx, store_id: str, sku: str) -> tuple[int, int] | None:
    return await directory.stock_of(tx, store_id, sku)


async def retailer_orders(
    tx: Tx, store_id: str, statuses: list[ShipmentStatus] | None, limit: int = 100
) -> list[RetailerOrder]:
    views = []
    for shipment_id in await store.store_shipments(tx, store_id, statuses, limit):
        order_id = await store.order_id_of_shipment(tx, shipment_id)
        order = await store.get_order(tx, order_id) if order_id else None
        shipment = order.shipment(shipment_id) if order else None
        if order is not None and shipment is not None:
            views.append(_retailer_view(order, shipment))
    return views


# A store is shown the lines of a part called off as a whole: they come back to it.
_CALLED_OFF = frozenset({S.CANCELLED, S.RETURNING, S.RETURNED_TO_STORE})


def _retailer_view(order: Order, shipment: Shipment) -> RetailerOrder:
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


async def apply_retailer_event(
    tx: Tx, store_id: str, webhook_id: str, event: RetailerEvent, now: datetime
) -> ShipmentStatus:
    """Applies a verified POS event. Raises WebhookReplayed, UnknownShipment, IllegalTransition
    or LineNotInShipment; the caller's transaction then rolls back, so nothing changes."""
    if not await pos.remember_webhook_id(tx, store_id, webhook_id, now):
        raise WebhookReplayed
    order = await _locked_by_shipment(tx, event.shipment_id)
    changes = await _retailer_step(tx, order, store_id, event, now)
    await _save(tx, order, changes, now)
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
        rerouting = await _rerouting(tx, order, order.rerouting_skus(sid, event.skus))
        return order.out_of_stock(sid, store_id, event.skus, rerouting, at=now)
    rerouting = await _rerouting(tx, order, order.rerouting_skus(sid))
    return order.store_cancelled(sid, store_id, event.reason, rerouting, at=now)


async def _notify_store(
    tx: Tx, order: Order, shipment: Shipment, event_type: str, now: datetime
) -> None:
    if await pos.webhook_url_of(tx, shipment.store_id, now) is None:
        return
    body = orjson.dumps(
        {"type": event_type, "data": _retailer_view(order, shipment).model_dump(mode="json")}
    )
    await pos.enqueue_delivery(tx, uuid.uuid4(), shipment.store_id, event_type, body, now)


# --- dispatch and driver events --------------------------------------------------------------


async def follow_delivery(
    tx: Tx, shipment_id: UUID, step: Callable[[Order], Changes], now: datetime
) -> bool:
    """Applies a delivery step the driver service reported; an unknown shipment or an illegal
    step is logged and refused (the event is not redelivered: retrying cannot make it legal)."""
    order_id = await store.order_id_of_shipment(tx, shipment_id)
    order = await _locked(tx, order_id)
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
    await _save(tx, order, changes, now)
    return True


async def expire_unaccepted(tx: Tx, now: datetime, ttl: timedelta, limit: int = 20) -> int:
    """Shipments a store did not accept within `ttl`: their stock is released and their lines
    go to another store of the mall (or are dropped). Returns how many expired."""
    expired = 0
    for shipment_id in await store.shipments_placed_before(tx, now - ttl, limit):
        order = await _locked(tx, await store.order_id_of_shipment(tx, shipment_id))
        shipment = order.shipment(shipment_id) if order else None
        # Re-checked under the order's lock: the store may have accepted meanwhile.
        if order is None or shipment is None or shipment.status is not S.PLACED:
            continue
        rerouting = await _rerouting(tx, order, order.rerouting_skus(shipment_id))
        await _save(tx, order, order.expire_unaccepted(shipment_id, rerouting, at=now), now)
        log.info(
            "reservation_expired",
            extra={"shipment_id": str(shipment.id), "store_id": shipment.store_id},
        )
        expired += 1
    return expired


async def assign_driver(
    tx: Tx, order_ids: list[UUID], driver_id: UUID, route_id: UUID, now: datetime
) -> None:
    for order_id in await store.known_order_ids(tx, order_ids):
        order = await _locked(tx, order_id)
        if order is not None:
            await _save(tx, order, order.assign_driver(driver_id, route_id, at=now), now)


async def mark_at_risk(tx: Tx, order_id: UUID, now: datetime) -> None:
    order = await _locked(tx, order_id)
    if order is not None:
        await _save(tx, order, order.mark_at_risk(at=now), now)
