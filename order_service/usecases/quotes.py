"""Quotes and delivery windows: what a cart can be promised at an address, and holding to it."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from order_service.catalog_client import Offer
from order_service.domain.capacity import Booked, asap_booked
from order_service.domain.checkout import Address, CartLine
from order_service.domain.errors import WindowFull
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
from order_service.store import bookings, directory, quotes
from shared.db import Tx
from shared.geo import Point

log = logging.getLogger(__name__)


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
        for b in await bookings.open_windows(tx, mall_id)
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
