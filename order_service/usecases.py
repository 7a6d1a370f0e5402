"""Load, decide, save and add events, all in the caller's transaction."""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import orjson

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
from order_service.domain.errors import IllegalTransition, SoldOut
from order_service.domain.order import (
    DROPPED,
    HOLDING_STOCK,
    ShipmentStatus,
    is_customer_cancellable,
    order_status,
    transition,
)
from order_service.domain.selection import Assignment, Candidate, choose_stores, merge_lines
from order_service.store import directory, pos
from order_service.store import orders as store
from order_service.store.orders import Line, Order, Shipment, TimelineEntry
from shared import outbox
from shared.db import Tx
from shared.events.common import GeoPoint
from shared.events.order import (
    OrderAccepted,
    OrderCancelled,
    OrderDelivered,
    OrderLineRerouted,
    OrderPlaced,
    OrderReadyForPickup,
    PlacedShipment,
    ShipmentLine,
)
from shared.geo import Point, TravelModel

log = logging.getLogger(__name__)

S = ShipmentStatus

CUSTOMER_MESSAGES: dict[ShipmentStatus, str] = {
    S.PLACED: "Order placed.",
    S.ACCEPTED: "Your order is being prepared.",
    S.PACKAGED: "Your order is packed and waiting for a driver.",
    S.PICKED_UP: "Your order is on its way.",
    S.DELIVERED: "Delivered.",
    S.CANCELLED: "Order cancelled; you will not be charged.",
    S.DELIVERY_FAILED: "We could not deliver your order; the driver is taking it back.",
    S.RETURNED_TO_STORE: "Your order was returned; you will be refunded.",
    S.REJECTED_BY_STORE: "Order cancelled; you will not be charged.",
}
ITEM_UNAVAILABLE = "An item became unavailable and was removed; you will not be charged for it."
RUNNING_LATE = "Your delivery may arrive later than promised; we are on it."


class UnknownShipment(Exception):
    """No such shipment for this store (another store's shipment looks the same)."""


class WebhookReplayed(Exception):
    pass


class NotCancellable(Exception):
    pass


class LineNotInShipment(Exception):
    def __init__(self, skus: list[str]) -> None:
        super().__init__(", ".join(skus))
        self.skus = skus


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
    assignments = await _choose(tx, cart, pairs, dropoff, exclude=set())
    order_id = uuid.uuid4()
    shipment_of_sku: dict[str, UUID] = {}
    shipments: list[Shipment] = []
    for assignment in assignments:
        shipment = Shipment(
            id=uuid.uuid4(), order_id=order_id, store_id=assignment.store_id, status=S.PLACED
        )
        shipments.append(shipment)
        for sku, quantity in assignment.quantities.items():
            shipment_of_sku[sku] = shipment.id
            await directory.reserve(tx, assignment.store_id, sku, quantity)
    order_lines = [
        Line(
            id=uuid.uuid4(),
            shipment_id=shipment_of_sku[offers[line.offer_id].sku],
            position=index,
            offer_id=line.offer_id,
            sku=offers[line.offer_id].sku,
            title=offers[line.offer_id].title,
            quantity=line.quantity,
            unit_price_cents=offers[line.offer_id].price_cents,
        )
        for index, line in enumerate(lines)
    ]
    order = Order(
        id=order_id,
        customer_id=customer_id,
        mall_id=assignments[0].mall_id,
        status=S.PLACED,
        deliver_by=max(offer.deliver_by for offer in offers.values()),
        currency=next(iter(offers.values())).currency,
        total_cents=sum(line.quantity * line.unit_price_cents for line in order_lines),
        address=address.model_dump(),
        dropoff_lat=address.lat,
        dropoff_lng=address.lng,
        contact_name=contact.name,
        contact_phone=contact.phone,
        pin=pin,
        pin_sha256=sha256_hex(pin) if pin is not None else None,
        created_at=now,
        updated_at=now,
        shipments=shipments,
        lines=order_lines,
    )
    await store.insert_order(tx, order)
    await store.add_timeline(tx, order.id, now, S.PLACED.value, CUSTOMER_MESSAGES[S.PLACED])
    await store.complete_idempotency_key(tx, customer_id, idempotency_key, order.id)
    await outbox.add(
        tx,
        OrderPlaced(
            order_id=order.id,
            mall_id=order.mall_id,
            shipments=[
                PlacedShipment(
                    shipment_id=s.id, store_id=s.store_id, lines=_shipment_lines(order, s.id)
                )
                for s in shipments
            ],
            deliver_by=order.deliver_by,
        ),
        key=order.mall_id,
    )
    for shipment in shipments:
        await _notify_store(tx, order, shipment, "order.created", now)
    log.info("order_placed", extra={"order_id": str(order.id), "shipments": len(shipments)})
    return order


async def _choose(
    tx: Tx,
    cart: Mapping[str, int],
    pairs: set[tuple[str, str]],
    dropoff: Point,
    exclude: set[str],
) -> list[Assignment]:
    pairs = {(store_id, sku) for store_id, sku in pairs if store_id not in exclude}
    available = await directory.lock_available(tx, pairs)
    store_ids = {store_id for store_id, _ in available}
    rows = await directory.get_stores(tx, store_ids)
    loads = await directory.loads(tx, store_ids)
    candidates = [
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
    return choose_stores(cart, candidates, dropoff)


def _shipment_lines(order: Order, shipment_id: UUID) -> list[ShipmentLine]:
    merged = merge_lines([(line.sku, line.quantity) for line in order.lines_of(shipment_id)])
    return [ShipmentLine(sku=sku, quantity=quantity) for sku, quantity in merged.items()]


# --- customer reads and cancel ---------------------------------------------------------------


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
    # Before pickup the driver stands at the store: showing the position would name it. So
    # would a fix taken before the pickup, shown after it.
    if order.status == S.PICKED_UP and order.driver_id is not None and picked_up_at is not None:
        position = await store.driver_position(tx, order.driver_id)
        if position is not None and position[2] > picked_up_at:
            driver = DriverPosition(*position)
            seconds = TravelModel().travel_seconds(
                Point(driver.lat, driver.lng), Point(order.dropoff_lat, order.dropoff_lng)
            )
            eta = now + timedelta(seconds=seconds)
    if order.status in (S.DELIVERED, S.CANCELLED, S.RETURNED_TO_STORE, S.DELIVERY_FAILED):
        eta = None
    return CustomerOrder(order, history, eta, driver)


async def cancel_by_customer(tx: Tx, order_id: UUID, customer_id: str, now: datetime) -> bool:
    """False if the order is not this customer's; NotCancellable once anything left a store."""
    order = await store.get_order(tx, order_id, for_update=True)
    if order is None or order.customer_id != customer_id:
        return False
    if not is_customer_cancellable(s.status for s in order.shipments):
        raise NotCancellable
    cancelled = [s for s in order.shipments if s.status not in DROPPED]
    for shipment in cancelled:
        await _release_holds(tx, order, shipment)
        shipment.status = transition(shipment.status, S.CANCELLED)
        await _notify_store(tx, order, shipment, "order.cancelled", now)
    await _settle(tx, order, now)
    await outbox.add(
        tx,
        OrderCancelled(
            order_id=order.id,
            mall_id=order.mall_id,
            shipment_ids=[s.id for s in cancelled],
            reason="customer_cancelled",
        ),
        key=order.mall_id,
    )
    log.info("order_cancelled", extra={"order_id": str(order.id), "by": "customer"})
    return True


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


async def webhook_secrets(tx: Tx, store_id: str, now: datetime) -> list[str]:
    return await pos.webhook_secrets(tx, store_id, now)


async def webhook_url(tx: Tx, store_id: str, now: datetime) -> str | None:
    return await pos.webhook_url_of(tx, store_id, now)


async def store_for_api_key(tx: Tx, api_key: str, now: datetime) -> str | None:
    return await pos.store_of_api_key(tx, sha256_hex(api_key), now)


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
            and (not line.is_cancelled or shipment.status == S.CANCELLED)
        ],
        package_count=shipment.package_count,
        labels=shipment.labels,
    )


async def apply_retailer_event(
    tx: Tx, store_id: str, webhook_id: str, event: RetailerEvent, now: datetime
) -> ShipmentStatus:
    """Applies a verified POS event. Raises WebhookReplayed, UnknownShipment, IllegalTransition
    or LineNotInShipment; the caller's transaction then rolls back, so nothing changes."""
    if not await pos.remember_webhook_id(tx, store_id, webhook_id, now):
        raise WebhookReplayed
    order_id = await store.order_id_of_shipment(tx, event.shipment_id)
    order = await store.get_order(tx, order_id, for_update=True) if order_id else None
    shipment = order.shipment(event.shipment_id) if order else None
    if order is None or shipment is None or shipment.store_id != store_id:
        raise UnknownShipment
    if event.type is RetailerEventType.ACCEPTED:
        shipment.status = transition(shipment.status, S.ACCEPTED)
        await outbox.add(
            tx,
            OrderAccepted(
                order_id=order.id,
                shipment_id=shipment.id,
                mall_id=order.mall_id,
                store_id=store_id,
            ),
            key=order.mall_id,
        )
    elif event.type is RetailerEventType.PACKAGED:
        await _packaged(tx, order, shipment, event, now)
    elif event.type is RetailerEventType.OUT_OF_STOCK:
        await _out_of_stock(tx, order, shipment, event, now)
    else:
        await _release_holds(tx, order, shipment)
        shipment.status = transition(shipment.status, S.CANCELLED)
        await _drop_lines(tx, order, order.lines_of(shipment.id), now)
        await outbox.add(
            tx,
            OrderCancelled(
                order_id=order.id,
                mall_id=order.mall_id,
                shipment_ids=[shipment.id],
                reason=f"store_cancelled: {event.reason}".strip(": "),
            ),
            key=order.mall_id,
        )
    await _settle(tx, order, now)
    if event.type is RetailerEventType.OUT_OF_STOCK and order.status is S.CANCELLED:
        await outbox.add(
            tx,
            OrderCancelled(
                order_id=order.id,
                mall_id=order.mall_id,
                shipment_ids=[shipment.id],
                reason="out_of_stock",
            ),
            key=order.mall_id,
        )
    log.info(
        "retailer_event_applied",
        extra={"shipment_id": str(shipment.id), "type": event.type.value, "store_id": store_id},
    )
    return shipment.status


async def _packaged(
    tx: Tx, order: Order, shipment: Shipment, event: RetailerEvent, now: datetime
) -> None:
    shipment.status = transition(shipment.status, S.PACKAGED)
    shipment.labels = list(event.labels)
    shipment.package_count = event.package_count or len(event.labels)
    shipment.ready_at = now
    for line in order.lines_of(shipment.id):
        await directory.release(tx, shipment.store_id, line.sku, line.quantity, is_taken=True)
    row = (await directory.get_stores(tx, [shipment.store_id]))[shipment.store_id]
    address = Address.model_validate(order.address)
    await outbox.add(
        tx,
        OrderReadyForPickup(
            order_id=order.id,
            shipment_id=shipment.id,
            mall_id=order.mall_id,
            mall_name=row.mall_name,
            store_id=row.store_id,
            store_name=row.name,
            pickup_instructions=row.pickup_instructions,
            pickup=GeoPoint(lat=row.location.lat, lng=row.location.lng),
            package_count=shipment.package_count,
            labels=shipment.labels,
            ready_at=now,
            deliver_by=order.deliver_by,
            dropoff=GeoPoint(lat=order.dropoff_lat, lng=order.dropoff_lng),
            dropoff_address=address.one_line(),
            dropoff_area=address.area(),
            customer_first_name=first_name(order.contact_name),
            pin_sha256=order.pin_sha256,
        ),
        key=order.mall_id,
    )


async def _out_of_stock(
    tx: Tx, order: Order, shipment: Shipment, event: RetailerEvent, now: datetime
) -> None:
    """Moves the missing lines to other stores of the same mall; drops what none can fill."""
    if shipment.status not in HOLDING_STOCK:
        raise IllegalTransition(shipment.status.value, S.REJECTED_BY_STORE.value)
    live = order.lines_of(shipment.id)
    missing = [line for line in live if line.sku in set(event.skus)]
    unknown = sorted(set(event.skus) - {line.sku for line in live})
    if unknown or not missing:
        raise LineNotInShipment(unknown or list(event.skus))
    for line in missing:
        await directory.mark_out_of_stock(tx, shipment.store_id, line.sku)
        await directory.release(tx, shipment.store_id, line.sku, line.quantity, is_taken=False)
    await _reroute(tx, order, shipment, missing, now)


async def _reroute(
    tx: Tx, order: Order, shipment: Shipment, missing: list[Line], now: datetime
) -> None:
    """Moves lines whose hold at `shipment`'s store is already released to other stores of the
    same mall; drops the lines none can fill; rejects the shipment once it has no lines left."""
    cart = merge_lines([(line.sku, line.quantity) for line in missing])
    pairs = set(await directory.mall_stock_pairs(tx, order.mall_id, cart))
    dropoff = Point(order.dropoff_lat, order.dropoff_lng)
    tried = {s.store_id for s in order.shipments if s.status is S.REJECTED_BY_STORE}
    exclude = tried | {shipment.store_id}
    try:
        assignments = await _choose(tx, cart, pairs, dropoff, exclude)
    except SoldOut:
        assignments = []
        for sku, quantity in cart.items():
            try:
                assignments += await _choose(tx, {sku: quantity}, pairs, dropoff, exclude)
            except SoldOut:
                continue
    moved: set[str] = set()
    for store_id in dict.fromkeys(a.store_id for a in assignments):
        quantities = {
            sku: q for a in assignments if a.store_id == store_id for sku, q in a.quantities.items()
        }
        target = Shipment(id=uuid.uuid4(), order_id=order.id, store_id=store_id, status=S.PLACED)
        order.shipments.append(target)
        for sku, quantity in quantities.items():
            await directory.reserve(tx, store_id, sku, quantity)
        for line in missing:
            if line.sku in quantities:
                line.shipment_id = target.id
                moved.add(line.sku)
        await outbox.add(
            tx,
            OrderLineRerouted(
                order_id=order.id,
                mall_id=order.mall_id,
                from_shipment_id=shipment.id,
                from_store_id=shipment.store_id,
                to_shipment_id=target.id,
                to_store_id=store_id,
                lines=[ShipmentLine(sku=s, quantity=q) for s, q in quantities.items()],
            ),
            key=order.mall_id,
        )
        await _notify_store(tx, order, target, "order.created", now)
    await _drop_lines(tx, order, [line for line in missing if line.sku not in moved], now)
    if not order.lines_of(shipment.id):
        shipment.status = transition(shipment.status, S.REJECTED_BY_STORE)
    log.info(
        "lines_rerouted",
        extra={"order_id": str(order.id), "moved": len(moved), "dropped": len(cart) - len(moved)},
    )


async def _drop_lines(tx: Tx, order: Order, lines: list[Line], now: datetime) -> None:
    for line in lines:
        line.is_cancelled = True
        order.total_cents -= line.quantity * line.unit_price_cents
    if lines:
        await store.add_timeline(tx, order.id, now, "item_unavailable", ITEM_UNAVAILABLE)


async def _release_holds(tx: Tx, order: Order, shipment: Shipment) -> None:
    if shipment.status in HOLDING_STOCK:
        for line in order.lines_of(shipment.id):
            await directory.release(tx, shipment.store_id, line.sku, line.quantity, is_taken=False)


async def _settle(tx: Tx, order: Order, now: datetime) -> None:
    """Saves the order; a change of the customer-visible status goes on the timeline."""
    was = order.status
    order.status = order_status(s.status for s in order.shipments)
    if order.status != was:
        await store.add_timeline(
            tx, order.id, now, order.status.value, CUSTOMER_MESSAGES[order.status]
        )
        if order.status == S.DELIVERED:
            await outbox.add(
                tx,
                OrderDelivered(order_id=order.id, mall_id=order.mall_id, delivered_at=now),
                key=order.mall_id,
            )
        if order.status == S.CANCELLED:
            log.info("order_now_cancelled", extra={"order_id": str(order.id)})
    await store.save_order(tx, order, now)


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


async def move_shipment(
    tx: Tx,
    shipment_id: UUID,
    wanted: ShipmentStatus,
    now: datetime,
    driver_id: UUID | None = None,
) -> bool:
    """Applies a delivery step; an unknown shipment or an illegal step is logged and refused."""
    order_id = await store.order_id_of_shipment(tx, shipment_id)
    order = await store.get_order(tx, order_id, for_update=True) if order_id else None
    shipment = order.shipment(shipment_id) if order else None
    if order is None or shipment is None:
        log.warning("unknown_shipment", extra={"shipment_id": str(shipment_id)})
        return False
    try:
        shipment.status = transition(shipment.status, wanted)
    except IllegalTransition as error:
        log.warning(
            "illegal_transition_refused",
            extra={"shipment_id": str(shipment_id), "from": error.current, "to": error.wanted},
        )
        return False
    if driver_id is not None:
        order.driver_id = driver_id
    await _settle(tx, order, now)
    return True


async def expire_unaccepted(tx: Tx, now: datetime, ttl: timedelta, limit: int = 20) -> int:
    """Shipments a store did not accept within `ttl`: their stock is released and their lines
    go to another store of the mall (or are dropped). Returns how many expired."""
    expired = 0
    for shipment_id in await store.shipments_placed_before(tx, now - ttl, limit):
        order_id = await store.order_id_of_shipment(tx, shipment_id)
        order = await store.get_order(tx, order_id, for_update=True) if order_id else None
        shipment = order.shipment(shipment_id) if order else None
        # Re-checked under the order's lock: the store may have accepted meanwhile.
        if order is None or shipment is None or shipment.status is not S.PLACED:
            continue
        await _release_holds(tx, order, shipment)
        await _notify_store(tx, order, shipment, "order.cancelled", now)
        await _reroute(tx, order, shipment, order.lines_of(shipment.id), now)
        await _settle(tx, order, now)
        if order.status is S.CANCELLED:
            await outbox.add(
                tx,
                OrderCancelled(
                    order_id=order.id,
                    mall_id=order.mall_id,
                    shipment_ids=[shipment.id],
                    reason="not_accepted_in_time",
                ),
                key=order.mall_id,
            )
        log.info(
            "reservation_expired",
            extra={"shipment_id": str(shipment.id), "store_id": shipment.store_id},
        )
        expired += 1
    return expired


async def assign_driver(tx: Tx, order_ids: list[UUID], driver_id: UUID, route_id: UUID) -> None:
    for order_id in await store.orders_of_route(tx, order_ids):
        order = await store.get_order(tx, order_id, for_update=True)
        if order is not None:
            order.driver_id, order.route_id = driver_id, route_id
            await store.save_order(tx, order, order.updated_at)


async def mark_at_risk(tx: Tx, order_id: UUID, now: datetime) -> None:
    order = await store.get_order(tx, order_id, for_update=True)
    if order is None or order.is_at_risk:
        return
    order.is_at_risk = True
    await store.add_timeline(tx, order.id, now, "delayed", RUNNING_LATE)
    await store.save_order(tx, order, now)
