"""Route offers: recorded from dispatch, taken by one driver (the race's one winner), declined."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from driver_service.accept_gate import Win
from driver_service.domain.errors import OfferTaken, UnknownThing
from driver_service.domain.offer import OfferStatus, OfferTerms, check_open
from driver_service.domain.route import Route
from driver_service.store import offers as offer_store
from driver_service.store import routes as route_store
from driver_service.usecases.routes import add_route_events
from shared import outbox
from shared.db import Tx
from shared.events.dispatch import RouteOffered, RouteStop
from shared.events.driver import OfferDeclined

log = logging.getLogger(__name__)


async def record_offer(tx: Tx, offer: RouteOffered) -> None:
    added = await offer_store.add_offer(
        tx,
        {
            "id": offer.offer_id,
            "route_id": offer.route_id,
            "mall_id": offer.mall_id,
            "mall_name": offer.mall_name,
            "pay_cents": offer.pay_cents,
            "currency": offer.currency,
            "hourly_floor_cents": offer.hourly_floor_cents,
            "block_minutes": offer.block_minutes,
            "expected_miles": offer.expected_miles,
            "stop_count": offer.stop_count,
            "pickup_area": offer.pickup_area,
            "stops": [stop.model_dump(mode="json") for stop in offer.stops],
            "expires_at": offer.expires_at,
            "round": offer.round,
            "status": OfferStatus.OPEN.value,
        },
        offer.driver_ids,
    )
    if added:
        await offer_store.announce(tx, offer.offer_id)


async def expire_offer(tx: Tx, offer_id: UUID) -> None:
    if await offer_store.expire(tx, offer_id):
        await offer_store.announce(tx, offer_id)


async def _offer_for_driver(tx: Tx, offer_id: UUID, driver_id: UUID) -> Row[Any]:
    offer = await offer_store.offer_for_driver(tx, offer_id, driver_id)
    if offer is None:
        raise UnknownThing("offer", "No such offer for you; refresh your offers.")
    return offer


def _check_open(offer: Row[Any], now: datetime) -> None:
    check_open(OfferStatus(offer.status), offer.expires_at, offer.declined_at, now)


async def accept_offer(tx: Tx, offer_id: UUID, driver_id: UUID, now: datetime) -> Win:
    offer = await _offer_for_driver(tx, offer_id, driver_id)
    if offer.status == OfferStatus.ACCEPTED and offer.accepted_by == driver_id:
        return await _win(tx, offer, driver_id)  # a retried accept of one's own win
    # Most losers of a race stop here, on a plain read, without waiting on any lock.
    _check_open(offer, now)
    # The conditional update is the offer's version check: of concurrent takers one wins.
    if not await offer_store.take(tx, offer_id, driver_id, now):
        current = await _offer_for_driver(tx, offer_id, driver_id)
        _check_open(current, now)
        raise OfferTaken()
    stops = tuple(RouteStop.model_validate(s) for s in offer.stops)
    await route_store.lock_shipments(tx, [s.shipment_id for s in stops])
    route, events = Route.accept(
        OfferTerms(
            offer_id=offer_id,
            route_id=offer.route_id,
            mall_id=offer.mall_id,
            pay_cents=offer.pay_cents,
            currency=offer.currency,
            hourly_floor_cents=offer.hourly_floor_cents,
            block_minutes=offer.block_minutes,
            stops=stops,
        ),
        driver_id,
        await route_store.cancelled_among(tx, [s.shipment_id for s in stops]),
        at=now,
    )
    try:
        async with tx.begin_nested():
            await route_store.insert_route(tx, route)
    except IntegrityError:
        # Another round's offer of the same route won first.
        raise OfferTaken() from None
    await add_route_events(tx, route, events)
    await offer_store.announce(tx, offer_id)
    log.info("offer_accepted", extra={"offer_id": str(offer_id), "driver_id": str(driver_id)})
    return await _win(tx, offer, driver_id)


async def _win(tx: Tx, offer: Row[Any], driver_id: UUID) -> Win:
    offered_to = await offer_store.active_driver_ids(tx, offer.id)
    return Win(UUID(str(offer.route_id)), driver_id, frozenset(offered_to))


async def decline_offer(tx: Tx, offer_id: UUID, driver_id: UUID, now: datetime) -> None:
    offer = await _offer_for_driver(tx, offer_id, driver_id)
    if offer.declined_at is not None:
        return
    _check_open(offer, now)
    await offer_store.decline(tx, offer_id, driver_id, now)
    await outbox.add(
        tx,
        OfferDeclined(
            offer_id=offer_id,
            route_id=offer.route_id,
            mall_id=offer.mall_id,
            driver_id=driver_id,
            at=now,
        ),
        key=str(offer.route_id),
    )
    await offer_store.announce(tx, offer_id)
