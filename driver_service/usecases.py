"""Load, decide, save + outbox. Called by the API and the event handlers; the caller owns `tx`."""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from driver_service import auth
from driver_service.accept_gate import Win
from driver_service.domain import earnings, limits
from driver_service.domain import route as route_rules
from driver_service.domain.errors import (
    BlockOverlaps,
    InvalidBlock,
    InvalidToken,
    OfferTaken,
    PhoneTaken,
    PinMismatch,
    RouteEnded,
    TooManyUpdates,
    UnknownThing,
)
from driver_service.domain.offer import OfferStatus, check_open
from driver_service.domain.route import OfferTerms, Route
from driver_service.domain.vehicles import CAPACITY_PACKAGES, VehicleType
from driver_service.settings import DriverSettings
from driver_service.store import drivers as driver_store
from driver_service.store import offers as offer_store
from driver_service.store import pins as pin_store
from driver_service.store import routes as route_store
from shared import outbox
from shared.db import Tx
from shared.events.common import GeoPoint
from shared.events.dispatch import RouteOffered, RouteStop
from shared.events.driver import (
    DriverAvailabilityChanged,
    DriverLocationUpdated,
    OfferDeclined,
    RouteStopsRefused,
)
from shared.events.envelope import Payload
from shared.geo import Point
from shared.malls import pilot_malls

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_in: int


# Drivers and tokens


async def register_driver(
    tx: Tx, settings: DriverSettings, *, name: str, phone: str, vehicle: VehicleType, now: datetime
) -> tuple[Row[Any], Tokens]:
    driver_id = uuid.uuid4()
    added = await driver_store.add_driver(
        tx,
        {
            "id": driver_id,
            "name": name,
            "phone": phone,
            "vehicle_type": vehicle.value,
            "capacity_packages": CAPACITY_PACKAGES[vehicle],
            "created_at": now,
        },
    )
    if not added:
        raise PhoneTaken()
    row = await driver_store.get_driver(tx, driver_id)
    assert row is not None
    return row, await issue_tokens(tx, settings, driver_id, now)


async def issue_tokens(tx: Tx, settings: DriverSettings, driver_id: UUID, now: datetime) -> Tokens:
    access, _ = auth.encode_token(
        settings.jwt_secret,
        driver_id,
        "access",
        now,
        timedelta(seconds=settings.access_token_seconds),
    )
    refresh, claims = auth.encode_token(
        settings.jwt_secret,
        driver_id,
        "refresh",
        now,
        timedelta(seconds=settings.refresh_token_seconds),
    )
    await driver_store.add_refresh_token(tx, claims.jti, driver_id, claims.expires_at)
    return Tokens(access, refresh, settings.access_token_seconds)


async def refresh_tokens(
    tx: Tx, settings: DriverSettings, refresh_token: str, now: datetime
) -> Tokens:
    try:
        claims = auth.decode_token(settings.jwt_secret, refresh_token, "refresh", now)
    except auth.InvalidToken as error:
        raise InvalidToken(f"The refresh token is invalid ({error}); sign in again.") from None
    if not await driver_store.use_refresh_token(tx, claims.jti, claims.driver_id, now):
        raise InvalidToken("The refresh token was already used; sign in again.")
    return await issue_tokens(tx, settings, claims.driver_id, now)


async def driver_or_404(tx: Tx, driver_id: UUID) -> Row[Any]:
    row = await driver_store.get_driver(tx, driver_id)
    if row is None:
        raise UnknownThing("driver")
    return row


async def set_online(
    tx: Tx, driver_id: UUID, online: bool, location: GeoPoint | None, now: datetime
) -> Row[Any]:
    row = await driver_store.get_driver(tx, driver_id, for_update=True)
    if row is None:
        raise UnknownThing("driver")
    if location is not None:
        await driver_store.set_location(tx, driver_id, location.lat, location.lng, now)
    if row.is_online != online:
        await driver_store.set_online(tx, driver_id, online)
        await outbox.add(
            tx,
            DriverAvailabilityChanged(
                driver_id=driver_id,
                online=online,
                vehicle_type=row.vehicle_type,
                capacity_packages=row.capacity_packages,
                location=location,
                at=now,
            ),
            key=str(driver_id),
        )
    return await driver_or_404(tx, driver_id)


async def update_location(
    tx: Tx, settings: DriverSettings, driver_id: UUID, location: GeoPoint, now: datetime
) -> Row[Any]:
    # The row lock makes the per-driver limit hold across concurrent requests and instances.
    row = await driver_store.get_driver(tx, driver_id, for_update=True)
    if row is None:
        raise UnknownThing("driver")
    wait = limits.retry_after_seconds(
        row.location_at, now, timedelta(seconds=settings.location_min_interval_seconds)
    )
    if wait:
        raise TooManyUpdates(wait, settings.location_min_interval_seconds)
    await driver_store.set_location(tx, driver_id, location.lat, location.lng, now)
    await outbox.add(
        tx,
        DriverLocationUpdated(
            driver_id=driver_id,
            location=location,
            at=now,
            route_id=await route_store.current_route_id(tx, driver_id),
        ),
        key=str(driver_id),
    )
    return await driver_or_404(tx, driver_id)


# Scheduled blocks

MAX_BLOCK_HOURS = 8
MAX_DAYS_AHEAD = 30


async def schedule_block(
    tx: Tx, driver_id: UUID, *, mall_id: str, starts_at: datetime, hours: float, now: datetime
) -> UUID:
    errors: list[tuple[str, str]] = []
    if mall_id not in {m.id for m in pilot_malls()}:
        errors.append(("mall_id", "not a mall we serve"))
    if starts_at <= now:
        errors.append(("starts_at", "must be in the future"))
    elif starts_at > now + timedelta(days=MAX_DAYS_AHEAD):
        errors.append(("starts_at", f"must be within {MAX_DAYS_AHEAD} days"))
    if not 1 <= hours <= MAX_BLOCK_HOURS:
        errors.append(("hours", f"must be between 1 and {MAX_BLOCK_HOURS}"))
    if errors:
        raise InvalidBlock(errors)
    ends_at = starts_at + timedelta(hours=hours)
    if await driver_store.overlapping_block(tx, driver_id, starts_at, ends_at):
        raise BlockOverlaps()
    block_id = uuid.uuid4()
    await driver_store.add_block(
        tx,
        {
            "id": block_id,
            "driver_id": driver_id,
            "mall_id": mall_id,
            "starts_at": starts_at,
            "ends_at": ends_at,
        },
    )
    return block_id


async def blocks_of(tx: Tx, driver_id: UUID) -> list[Row[Any]]:
    return await driver_store.list_blocks(tx, driver_id)


async def cancel_block(tx: Tx, driver_id: UUID, block_id: UUID) -> bool:
    return await driver_store.delete_block(tx, driver_id, block_id)


# Offers


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


async def _add(tx: Tx, route: Route, events: list[Payload]) -> None:
    for event in events:
        await outbox.add(tx, event, key=str(route.id))


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
    await _add(tx, route, events)
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


# Route execution: load under the route's row lock, one domain step, save, events.


async def route_for_driver(
    tx: Tx, route_id: UUID, driver_id: UUID, *, for_update: bool = False
) -> Route:
    route = await route_store.get(tx, route_id, driver_id=driver_id, for_update=for_update)
    if route is None:
        raise UnknownThing("route")  # someone else's route must look like a missing one
    return route


async def _step(
    tx: Tx, route_id: UUID, driver_id: UUID, step: Callable[[Route], list[Payload]]
) -> Route:
    route = await route_for_driver(tx, route_id, driver_id, for_update=True)
    events = step(route)
    await route_store.save(tx, route)
    await _add(tx, route, events)
    return route


async def mark_assigned(tx: Tx, route_id: UUID, driver_id: UUID, now: datetime) -> None:
    route = await route_store.get(tx, route_id, for_update=True)
    if route is None or not route.mark_assigned(driver_id, at=now):
        # Dispatch follows offer.accepted; any other driver here means the two disagree.
        log.warning(
            "route_assigned_mismatch",
            extra={"route_id": str(route_id), "driver_id": str(driver_id)},
        )
        return
    await route_store.save(tx, route)


async def arrive_at_pickup(
    tx: Tx,
    settings: DriverSettings,
    route_id: UUID,
    stop_id: UUID,
    driver_id: UUID,
    position: GeoPoint,
    now: datetime,
) -> None:
    def step(route: Route) -> list[Payload]:
        route.arrive(
            stop_id, Point(position.lat, position.lng), settings.mall_geofence_m, at=now
        )
        return []

    await _step(tx, route_id, driver_id, step)


async def pick_up(
    tx: Tx,
    settings: DriverSettings,
    route_id: UUID,
    stop_id: UUID,
    driver_id: UUID,
    barcodes: list[str],
    partial: bool,
    now: datetime,
) -> None:
    await _step(
        tx,
        route_id,
        driver_id,
        lambda route: route.pick_up(
            stop_id,
            barcodes,
            partial=partial,
            free_wait=timedelta(minutes=settings.free_pickup_wait_minutes),
            at=now,
        ),
    )


@dataclass(frozen=True)
class Photo:
    content: bytes
    content_type: str


async def deliver(
    tx: Tx,
    settings: DriverSettings,
    route_id: UUID,
    stop_id: UUID,
    driver_id: UUID,
    *,
    position: GeoPoint,
    photo: Photo,
    pin: str | None,
    now: datetime,
) -> str:
    digest = hashlib.sha256(photo.content).hexdigest()
    # Read before the route is locked: a few concurrent wrong tries may pass five, no more.
    wrong_pins = await pin_store.wrong_pins_at(tx, stop_id)

    def step(route: Route) -> list[Payload]:
        if route.stop(stop_id).pin_sha256 is not None:
            route_rules.check_pin_tries(wrong_pins)
        return route.deliver(
            stop_id,
            Point(position.lat, position.lng),
            settings.delivery_geofence_m,
            pin,
            digest,
            at=now,
        )

    await _step(tx, route_id, driver_id, step)
    await route_store.save_photo(tx, digest, photo.content_type, photo.content)
    return digest


async def record_wrong_pin(
    tx: Tx, route_id: UUID, stop_id: UUID, driver_id: UUID, now: datetime
) -> PinMismatch:
    """Keeps a wrong PIN for fraud review (after the delivery attempt rolled back); returns the
    answer for the driver."""
    wrong = await pin_store.add_wrong_pin(
        tx, stop_id=stop_id, route_id=route_id, driver_id=driver_id, at=now
    )
    log.warning(
        "wrong_delivery_pin",
        extra={
            "route_id": str(route_id),
            "stop_id": str(stop_id),
            "driver_id": str(driver_id),
            "wrong_pins": wrong,
            "is_locked": wrong >= route_rules.MAX_WRONG_PINS,
        },
    )
    return route_rules.after_wrong_pin(wrong)


async def fail(
    tx: Tx, route_id: UUID, stop_id: UUID, driver_id: UUID, reason: str, now: datetime
) -> UUID:
    back: list[UUID] = []

    def step(route: Route) -> list[Payload]:
        return_stop_id, events = route.fail(stop_id, reason, at=now)
        back.append(return_stop_id)
        return events

    await _step(tx, route_id, driver_id, step)
    return back[0]


async def complete_return(
    tx: Tx, route_id: UUID, stop_id: UUID, driver_id: UUID, now: datetime
) -> None:
    await _step(tx, route_id, driver_id, lambda route: route.hand_back(stop_id, at=now))


# What other services tell the driver's routes


async def cancel_shipments(tx: Tx, shipment_ids: list[UUID], now: datetime) -> None:
    """A cancelled order: untouched stops come off, packages already aboard go back. Under
    the shipments' locks, then each route's row lock: a pickup scan either committed before
    (a return) or waits and finds the stop removed."""
    await route_store.lock_shipments(tx, shipment_ids)
    await route_store.remember_cancelled(tx, shipment_ids, now)
    for route_id in await route_store.route_ids_of_shipments(tx, shipment_ids):
        route = await route_store.get(tx, route_id, for_update=True)
        if route is None:
            continue
        events = route.cancel_shipments(set(shipment_ids), at=now)
        await route_store.save(tx, route)
        await _add(tx, route, events)


async def add_stops(
    tx: Tx, route_id: UUID, mall_id: str, stops: list[RouteStop], now: datetime
) -> None:
    """Dispatch adds a re-routed pickup; a route that already ended refuses it back."""
    route = await route_store.get(tx, route_id, for_update=True)
    if route is None:
        log.warning("stops_for_unknown_route", extra={"route_id": str(route_id)})
        return
    try:
        events = route.add_stops(stops, at=now)
    except RouteEnded:
        await outbox.add(
            tx,
            RouteStopsRefused(
                route_id=route_id,
                mall_id=mall_id,
                shipment_ids=sorted({s.shipment_id for s in stops}, key=str),
                at=now,
            ),
            key=str(route_id),
        )
        return
    await route_store.save(tx, route)
    await _add(tx, route, events)


async def release_route(tx: Tx, route_id: UUID, now: datetime) -> None:
    route = await route_store.get(tx, route_id, for_update=True)
    if route is None:
        return
    events = route.release(at=now)
    await route_store.save(tx, route)
    await _add(tx, route, events)


async def add_tip(tx: Tx, order_id: UUID, tip_cents: int) -> None:
    """Shared by the routes that delivered the order's parts; the first gets the odd cents."""
    route_ids = await route_store.route_ids_delivering(tx, order_id)
    if not route_ids:
        log.warning("tip_without_delivery", extra={"order_id": str(order_id)})
        return
    share, odd = divmod(tip_cents, len(route_ids))
    for index, route_id in enumerate(route_ids):
        route = await route_store.get(tx, route_id, for_update=True)
        if route is not None:
            route.add_tip(share + (odd if index == 0 else 0))
            await route_store.save(tx, route)


# Earnings


@dataclass(frozen=True)
class RouteEarning:
    route_id: UUID
    mall_id: str
    completed_at: datetime
    currency: str
    pay: earnings.RoutePay


async def earnings_for(
    tx: Tx, driver_id: UUID, period: earnings.Period, day: date
) -> tuple[datetime, datetime, list[RouteEarning]]:
    start, end = earnings.period_bounds(period, day)
    rows = await route_store.completed_routes(tx, driver_id, start, end)
    items = [
        RouteEarning(
            route_id=row.id,
            mall_id=row.mall_id,
            completed_at=row.completed_at,
            currency=row.currency,
            pay=earnings.route_pay(
                pay_cents=row.pay_cents,
                hourly_floor_cents=row.hourly_floor_cents,
                started_at=row.accepted_at,
                finished_at=row.completed_at,
                wait_pay_cents=int(row.wait_pay_cents),
                tip_cents=row.tip_cents,
            ),
        )
        for row in rows
    ]
    return start, end, items


async def proof_photo(tx: Tx, sha256: str) -> tuple[str, bytes] | None:
    return await route_store.photo(tx, sha256)
