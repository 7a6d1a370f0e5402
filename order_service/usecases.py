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
from order_service.domain.capacity import Booked, asap_booked
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
from order_service.domain.errors import IllegalTransition, UnknownShipment, WindowFull
from order_service.domain.order import (
    DROPPED,
    MALL_GEOFENCE_M,
    Changes,
    Order,
    Rerouting,
    Shipment,
    ShipmentStatus,
    StorefrontNotice,
)
from order_service.domain.quote import (
    ASAP,
    SCHEDULED,
    CandidateWindow,
    Fees,
    Quote,
    QuotedWindow,
    is_still_open,
    quoted_windows,
)
from order_service.domain.selection import Candidate, choose_stores, merge_lines
from order_service.outgoing import Outgoing, storefront_body
from order_service.store import directory, pos, quotes, webhooks
from order_service.store import orders as store
from order_service.store.orders import TimelineEntry
from order_service.store.webhooks import DeliveryStatus, Recipient, RecipientKind
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


class EndpointRemoved(Exception):
    """A delivery of a removed endpoint cannot be sent again."""


@dataclass(frozen=True)
class DeliveryWindow:
    # None: from the order's placing (as soon as possible).
    starts_at: datetime | None
    ends_at: datetime


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


def new_tracking_token() -> str:
    # 128 random bits: the page shows an order's status and driver to whoever holds it.
    return secrets.token_urlsafe(16)


def _key(order: Order) -> str:
    # What must stay in order is one order's events; consumers read the mall from the payload.
    # A mall key would make every checkout of a mall wait on the outbox's per-key writer lock.
    return str(order.id)


async def _save(
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
    outgoing: Outgoing,
    window: DeliveryWindow | None = None,
    delivery_fee_cents: int = 0,
) -> CustomerOrder:
    """Chooses the stores, reserves their stock under row locks, and records the order; returns
    it as its customer sees it.

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
        deliver_by=(
            window.ends_at
            if window is not None
            else max(offer.deliver_by for offer in offers.values())
        ),
        currency=next(iter(offers.values())).currency,
        address=address.model_dump(),
        dropoff=dropoff,
        contact_name=contact.name,
        contact_phone=contact.phone,
        pin=pin,
        pin_sha256=sha256_hex(pin) if pin is not None else None,
        new_id=uuid.uuid4,
        at=now,
        tracking_token=new_tracking_token(),
        window_starts_at=window.starts_at if window is not None else None,
        delivery_fee_cents=delivery_fee_cents,
    )
    await _save(tx, order, changes, now, outgoing, is_new=True)
    await store.complete_idempotency_key(tx, customer_id, idempotency_key, order.id)
    log.info("order_placed", extra={"order_id": str(order.id), "shipments": len(order.shipments)})
    # As order_for_customer would read it back: just placed, no driver yet, only these notes.
    history = [TimelineEntry(now, note.status, note.message) for note in changes.timeline]
    return CustomerOrder(order, history, order.dropoff_eta() or order.deliver_by, None)


async def _candidates(tx: Tx, pairs: set[tuple[str, str]]) -> list[Candidate]:
    """The active stores holding these (store, sku) pairs, with their free stock, locked."""
    by_store: dict[str, list[directory.LockedStock]] = {}
    for row in await directory.lock_candidates(tx, pairs):
        if row.is_active:
            by_store.setdefault(row.store_id, []).append(row)
    return [
        Candidate(
            store_id=store_id,
            mall_id=rows[0].mall_id,
            location=rows[0].location,
            available={row.sku: row.free for row in rows},
            load=rows[0].load,
        )
        for store_id, rows in by_store.items()
    ]


async def _rerouting(tx: Tx, order: Order, skus: Sequence[str]) -> Rerouting:
    pairs = set(await directory.mall_stock_pairs(tx, order.mall_id, skus))
    return Rerouting(candidates=await _candidates(tx, pairs))


# --- quotes and delivery windows -------------------------------------------------------------


@dataclass(frozen=True)
class QuotePolicy:
    fees: Fees
    ttl: timedelta
    # Until dispatch has said how many orders a mall's fleet delivers an hour.
    default_orders_per_hour: float


async def _fleet(tx: Tx, mall_id: str, policy: QuotePolicy) -> tuple[list[Booked], float]:
    booked = [
        asap_booked(b.starts_at, b.ends_at, b.orders)
        if b.is_asap
        else Booked(b.starts_at, b.ends_at, b.orders)
        for b in await store.open_windows(tx, mall_id)
    ]
    rate = await directory.mall_orders_per_hour(tx, mall_id)
    # No drivers serving the mall right now (a rate of 0) says nothing of the next hours: a mall
    # nobody serves is paused by dispatch's own signal, through the catalog's windows.
    return booked, rate if rate else policy.default_orders_per_hour


def _mall_of(lines: Sequence[CartLine], offers: Mapping[str, Offer], dropoff: Point) -> str:
    """The mall checkout would fill the cart from (SoldOut if none can), by the catalog's
    counts: a quote locks nothing."""
    cart = merge_lines([(offers[line.offer_id].sku, line.quantity) for line in lines])
    by_store: dict[str, Candidate] = {}
    for offer in offers.values():
        for s in offer.stores:
            known = by_store.get(s.store_id)
            available = {**(known.available if known else {}), offer.sku: s.quantity}
            by_store[s.store_id] = Candidate(s.store_id, s.mall_id, Point(s.lat, s.lng), available)
    return choose_stores(cart, list(by_store.values()), dropoff)[0].mall_id


def _candidate_windows(offers: Mapping[str, Offer], mall_id: str) -> list[CandidateWindow]:
    """The mall's windows as the catalog gave them with each offer: a slot every offer has,
    and the latest of their as-soon-as-possible promises."""
    lists = [
        offer.windows
        for offer in offers.values()
        if offer.stores and offer.stores[0].mall_id == mall_id
    ]
    if not lists:
        return []
    slots = set.intersection(
        *(
            {(w.starts_at, w.ends_at, w.label) for w in windows if w.kind == SCHEDULED}
            for windows in lists
        )
    )
    candidates = [CandidateWindow(SCHEDULED, a, b, label) for a, b, label in slots]
    asaps = [[w for w in windows if w.kind == ASAP] for windows in lists]
    if all(asaps):
        latest = max((found[0] for found in asaps), key=lambda w: w.ends_at)
        candidates.append(CandidateWindow(ASAP, latest.starts_at, latest.ends_at, latest.label))
    return candidates


async def make_quote(
    tx: Tx,
    *,
    customer_id: str,
    lines: Sequence[CartLine],
    address: Address,
    offers: Mapping[str, Offer],
    policy: QuotePolicy,
    now: datetime,
) -> Quote:
    """The windows the fleet can keep for this cart and address, saved for `policy.ttl`.
    Raises SoldOut when no mall can fill the cart."""
    dropoff = Point(address.lat, address.lng)
    mall_id = _mall_of(lines, offers, dropoff)
    booked, rate = await _fleet(tx, mall_id, policy)
    windows = quoted_windows(_candidate_windows(offers, mall_id), booked, rate, policy.fees, now)
    quote = Quote(
        id=uuid.uuid4(),
        customer_id=customer_id,
        mall_id=mall_id,
        lat=address.lat,
        lng=address.lng,
        lines=tuple((line.offer_id, line.quantity) for line in lines),
        windows=tuple(windows),
        currency=next(iter(offers.values())).currency,
        created_at=now,
        expires_at=now + policy.ttl,
    )
    await quotes.insert(tx, quote)
    log.info(
        "quote_made",
        extra={"quote_id": str(quote.id), "mall_id": mall_id, "windows": len(windows)},
    )
    return quote


class UnknownQuote(Exception):
    pass


async def quoted_window(
    tx: Tx,
    *,
    quote_id: UUID,
    window_id: str,
    customer_id: str,
    lines: Sequence[CartLine],
    address: Address,
    policy: QuotePolicy,
    now: datetime,
) -> QuotedWindow:
    """The quoted window a checkout asks for, if the quote still holds and the fleet still
    has room in it. Raises UnknownQuote (also for another customer's quote), QuoteExpired,
    QuoteMismatch, UnknownWindow or WindowFull."""
    quote = await quotes.get(tx, quote_id)
    if quote is None or quote.customer_id != customer_id:
        raise UnknownQuote
    window = quote.window_for_checkout(
        window_id,
        customer_id=customer_id,
        lines=[(line.offer_id, line.quantity) for line in lines],
        lat=address.lat,
        lng=address.lng,
        now=now,
    )
    booked, rate = await _fleet(tx, quote.mall_id, policy)
    if not is_still_open(window, booked, rate, now):
        raise WindowFull
    return window


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
    order = await _locked(tx, order_id)
    return order if order is not None and order.customer_id == customer_id else None


async def cancel_by_customer(
    tx: Tx, order_id: UUID, customer_id: str, now: datetime, outgoing: Outgoing
) -> bool:
    """False if the order is not this customer's; NotCancellable once anything was delivered.
    After a pickup the cancel is a return to the store."""
    order = await _customers(tx, order_id, customer_id)
    if order is None:
        return False
    await _save(tx, order, order.cancel_by_customer(at=now), now, outgoing)
    log.info("order_cancelled", extra={"order_id": str(order.id), "by": "customer"})
    return True


async def tip(
    tx: Tx, order_id: UUID, customer_id: str, tip_cents: int, now: datetime, outgoing: Outgoing
) -> bool:
    """False if the order is not this customer's; TipNotAllowed or TipAlreadyGiven."""
    order = await _customers(tx, order_id, customer_id)
    if order is None:
        return False
    await _save(tx, order, order.tip(tip_cents, at=now), now, outgoing)
    log.info("order_tipped", extra={"order_id": str(order.id)})
    return True


async def cancel_shipment_by_operator(
    tx: Tx, shipment_id: UUID, reason: str, now: datetime, outgoing: Outgoing
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
        await _save(tx, order, changes, now, outgoing)
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
    order = await _locked_by_shipment(tx, event.shipment_id)
    changes = await _retailer_step(tx, order, store_id, event, now)
    await _save(tx, order, changes, now, outgoing)
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
    tx: Tx, order: Order, shipment: Shipment, event_type: str, now: datetime, outgoing: Outgoing
) -> None:
    if await pos.webhook_url_of(tx, shipment.store_id, now) is None:
        return
    body = orjson.dumps(
        {"type": event_type, "data": _retailer_view(order, shipment).model_dump(mode="json")}
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


# --- dispatch and driver events --------------------------------------------------------------


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
    await _save(tx, order, changes, now, outgoing)
    return True


async def expire_unaccepted(
    tx: Tx, now: datetime, ttl: timedelta, outgoing: Outgoing, limit: int = 20
) -> int:
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
        changes = order.expire_unaccepted(shipment_id, rerouting, at=now)
        await _save(tx, order, changes, now, outgoing)
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
        order = await _locked(tx, order_id)
        if order is not None:
            changes = order.assign_driver(driver_id, route_id, at=now)
            await _save(tx, order, changes, now, outgoing)


async def mark_at_risk(tx: Tx, order_id: UUID, now: datetime, outgoing: Outgoing) -> None:
    order = await _locked(tx, order_id)
    if order is not None:
        await _save(tx, order, order.mark_at_risk(at=now), now, outgoing)


# --- the storefront's webhook endpoints and deliveries ---------------------------------------

EndpointRow = webhooks.EndpointRow
DeliveryRow = webhooks.DeliveryRow


def new_webhook_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


async def register_endpoint(
    tx: Tx, *, url: str, event_types: list[str] | None, description: str, now: datetime
) -> tuple[EndpointRow, str]:
    """A new endpoint and its signing secret, returned once."""
    endpoint_id, secret = uuid.uuid4(), new_webhook_secret()
    await webhooks.add_endpoint(
        tx,
        endpoint_id=endpoint_id,
        url=url,
        event_types=event_types,
        description=description,
        secret=secret,
        now=now,
    )
    found = await webhooks.endpoint(tx, endpoint_id)
    assert found is not None
    log.info("webhook_endpoint_registered", extra={"endpoint_id": str(endpoint_id)})
    return found, secret


async def storefront_endpoints(tx: Tx) -> list[EndpointRow]:
    return await webhooks.endpoints(tx)


async def remove_endpoint(tx: Tx, endpoint_id: UUID, now: datetime) -> bool:
    """Stops deliveries to it; what was still pending is kept as failed, listed with the other
    failed deliveries, so nothing goes missing without a trace."""
    if await webhooks.endpoint(tx, endpoint_id, for_update=True) is None:
        return False
    await webhooks.disable_endpoint(tx, endpoint_id, now)
    await webhooks.fail_pending_of(
        tx, Recipient(RecipientKind.ENDPOINT, str(endpoint_id)), now, "endpoint removed"
    )
    log.info("webhook_endpoint_removed", extra={"endpoint_id": str(endpoint_id)})
    return True


async def rotate_endpoint_secret(
    tx: Tx, endpoint_id: UUID, now: datetime, grace: timedelta
) -> str | None:
    if await webhooks.endpoint(tx, endpoint_id, for_update=True) is None:
        return None
    secret = new_webhook_secret()
    await webhooks.rotate_secret(tx, endpoint_id, secret, now, now + grace)
    log.info("webhook_secret_rotated", extra={"endpoint_id": str(endpoint_id)})
    return secret


async def storefront_deliveries(
    tx: Tx, *, status: DeliveryStatus | None, endpoint_id: UUID | None, limit: int
) -> list[DeliveryRow]:
    return await webhooks.endpoint_deliveries(
        tx, status=status, endpoint_id=endpoint_id, limit=limit
    )


async def storefront_delivery(
    tx: Tx, delivery_id: UUID
) -> tuple[DeliveryRow, list[webhooks.AttemptRow]] | None:
    row = await webhooks.endpoint_delivery(tx, delivery_id)
    if row is None:
        return None
    return row, await webhooks.attempts_of(tx, delivery_id)


async def replay_delivery(
    tx: Tx, delivery_id: UUID, now: datetime, outgoing: Outgoing
) -> DeliveryRow | None:
    """The delivery as it is after the replay: pending again if it had failed, else as it
    was (the caller refuses that)."""
    row = await webhooks.endpoint_delivery(tx, delivery_id, for_update=True)
    if row is None:
        return None
    if await webhooks.endpoint(tx, row.endpoint_id) is None:
        raise EndpointRemoved
    if row.status is DeliveryStatus.FAILED:
        await webhooks.requeue(tx, [delivery_id], now, now + outgoing.webhook_retry)
        log.info("webhook_replayed", extra={"delivery_id": str(delivery_id)})
    return await webhooks.endpoint_delivery(tx, delivery_id)


async def replay_failed(tx: Tx, endpoint_id: UUID, now: datetime, outgoing: Outgoing) -> int | None:
    if await webhooks.endpoint(tx, endpoint_id) is None:
        return None
    failed = await webhooks.failed_of_endpoint(tx, endpoint_id)
    replayed = await webhooks.requeue(tx, failed, now, now + outgoing.webhook_retry)
    log.info("webhooks_replayed", extra={"endpoint_id": str(endpoint_id), "deliveries": replayed})
    return replayed
