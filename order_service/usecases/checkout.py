"""Checkout: the idempotency key claimed or replayed, the cart's offers resolved at the
catalog, the delivery area and window checked, and the order placed."""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from order_service.catalog_client import CatalogClient, Offer
from order_service.domain.checkout import Address, CartLine, Contact, is_within
from order_service.domain.errors import SoldOut
from order_service.domain.order import Order, Rerouting
from order_service.domain.quote import SCHEDULED
from order_service.domain.selection import Candidate, choose_stores, merge_lines
from order_service.outgoing import Outgoing
from order_service.store import directory
from order_service.store import orders as store
from order_service.store.orders import TimelineEntry
from order_service.usecases.base import save_step, sha256_hex
from order_service.usecases.customer_orders import CustomerOrder, order_for_customer
from order_service.usecases.quotes import QuotePolicy, quoted_window
from shared.db import Db, Tx
from shared.geo import Point

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryWindow:
    # None: from the order's placing (as soon as possible).
    starts_at: datetime | None
    ends_at: datetime


def request_fingerprint(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def new_pin() -> str:
    return f"{secrets.randbelow(10_000):04d}"


def new_tracking_token() -> str:
    # 128 random bits: the page shows an order's status and driver to whoever holds it.
    return secrets.token_urlsafe(16)


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
    await save_step(tx, order, changes, now, outgoing, is_new=True)
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


async def rerouting_for(tx: Tx, order: Order, skus: Sequence[str]) -> Rerouting:
    pairs = set(await directory.mall_stock_pairs(tx, order.mall_id, skus))
    return Rerouting(candidates=await _candidates(tx, pairs))


# --- the checkout protocol: idempotency claim or replay, catalog resolution, placing ----------


class IdempotencyKeyReused(Exception):
    """The key was used for another request (its body differs)."""


class CheckoutInProgress(Exception):
    """A request with this key holds it and has not placed its order yet."""


class MixedCurrencies(Exception):
    """The cart's offers are priced in more than one currency."""


class SoldOutOffers(Exception):
    """Not enough left of the SKUs of these offers for any mall to fill the cart."""

    def __init__(self, offer_ids: frozenset[str]) -> None:
        super().__init__(f"sold out: {', '.join(sorted(offer_ids))}")
        self.offer_ids = offer_ids


def sold_out_offers(offers: Mapping[str, Offer], error: SoldOut) -> SoldOutOffers:
    return SoldOutOffers(frozenset(i for i, offer in offers.items() if offer.sku in error.skus))


async def resolve_offers(
    catalog: CatalogClient, lines: Sequence[CartLine], at: tuple[float, float] | None = None
) -> dict[str, Offer]:
    """The cart's offers from the catalog. Raises OfferNotFound or CatalogUnavailable (from the
    client) and MixedCurrencies."""
    offers = await catalog.resolve_all([line.offer_id for line in lines], at)
    if len({offer.currency for offer in offers.values()}) > 1:
        raise MixedCurrencies
    return offers


@dataclass(frozen=True)
class Cart:
    lines: Sequence[CartLine]
    address: Address
    contact: Contact
    # From a quote, with one of its windows; None: as soon as possible.
    quote_id: UUID | None = None
    window_id: str | None = None


@dataclass(frozen=True)
class CheckoutPolicy:
    quote: QuotePolicy
    # A claimed key still without an order after this long belongs to a holder that died.
    idempotency_stale: timedelta
    require_pin: bool
    asap_fee_cents: int


@dataclass(frozen=True)
class Checkout:
    # None: a retry's order is no longer the customer's to see.
    order: CustomerOrder | None
    is_replay: bool


async def checkout(
    db: Db,
    catalog: CatalogClient,
    *,
    customer_id: str,
    idempotency_key: str,
    fingerprint: str,
    cart: Cart,
    policy: CheckoutPolicy,
    now: datetime,
    outgoing: Outgoing,
) -> Checkout:
    """Places the cart once per idempotency key: the first request claims the key, a retry with
    the same body gets the order back. On any failure the claim is dropped, so a retry may
    place the order.

    Raises IdempotencyKeyReused, CheckoutInProgress, OfferNotFound, CatalogUnavailable,
    MixedCurrencies, SoldOutOffers, OutsideDeliveryArea, UnknownQuote or a quote's DomainError;
    nothing is placed then.
    """
    async with db.begin() as tx:
        claimed = await store.claim_idempotency_key(
            tx,
            customer_id,
            idempotency_key,
            fingerprint,
            now,
            stale_before=now - policy.idempotency_stale,
        )
        if not claimed:
            found = await _replay(tx, customer_id, idempotency_key, fingerprint, now)
            return Checkout(found, is_replay=True)
    try:
        # The catalog is asked outside any transaction: no row lock waits on the network.
        offers = await resolve_offers(catalog, cart.lines)
        check_delivery_area(cart.address, offers)
        async with db.begin() as tx:
            await seed_from_offers(tx, offers)
            window, fee = await _window(tx, cart, customer_id, policy, now)
            try:
                placed = await place_order(
                    tx,
                    customer_id=customer_id,
                    lines=cart.lines,
                    address=cart.address,
                    contact=cart.contact,
                    offers=offers,
                    idempotency_key=idempotency_key,
                    pin=new_pin() if policy.require_pin else None,
                    now=now,
                    outgoing=outgoing,
                    window=window,
                    delivery_fee_cents=fee,
                )
            except SoldOut as error:
                raise sold_out_offers(offers, error) from None
    except BaseException:
        async with db.begin() as tx:
            await store.drop_idempotency_key(tx, customer_id, idempotency_key)
        raise
    return Checkout(placed, is_replay=False)


async def _replay(
    tx: Tx, customer_id: str, key: str, fingerprint: str, now: datetime
) -> CustomerOrder | None:
    record = await store.get_idempotency_key(tx, customer_id, key)
    if record is not None and record.request_sha256 != fingerprint:
        raise IdempotencyKeyReused
    if record is None or record.order_id is None:
        raise CheckoutInProgress
    return await order_for_customer(tx, record.order_id, customer_id, now)


async def _window(
    tx: Tx, cart: Cart, customer_id: str, policy: CheckoutPolicy, now: datetime
) -> tuple[DeliveryWindow | None, int]:
    """The quoted window and its fee; without a quote, as soon as possible at its fee."""
    if cart.quote_id is None or cart.window_id is None:
        return None, policy.asap_fee_cents
    chosen = await quoted_window(
        tx,
        quote_id=cart.quote_id,
        window_id=cart.window_id,
        customer_id=customer_id,
        lines=cart.lines,
        address=cart.address,
        policy=policy.quote,
        now=now,
    )
    starts_at = chosen.starts_at if chosen.kind == SCHEDULED else None
    return DeliveryWindow(starts_at, chosen.ends_at), chosen.fee_cents
