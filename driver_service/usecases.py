"""Load, decide, save + outbox. Called by the API and the event handlers; the caller owns `tx`."""

from __future__ import annotations

import hashlib
import logging
import uuid
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
from driver_service.domain.errors import IllegalStep, PinMismatch
from driver_service.domain.vehicles import CAPACITY_PACKAGES, VehicleType
from driver_service.settings import DriverSettings
from driver_service.store import drivers as driver_store
from driver_service.store import offers as offer_store
from driver_service.store import pins as pin_store
from driver_service.store import routes as route_store
from shared import outbox
from shared.db import Tx
from shared.events.common import GeoPoint
from shared.events.dispatch import RouteOffered, RouteStop, StopKind
from shared.events.driver import (
    DriverAvailabilityChanged,
    DriverLocationUpdated,
    OfferAccepted,
    OfferDeclined,
    RoutePickupWait,
    RouteStopDelivered,
    RouteStopFailed,
    RouteStopPickedUp,
    RouteStopReturned,
)
from shared.geo import Point
from shared.malls import pilot_malls
from shared.problems import Conflict, FieldError, NotFound, ProblemError, Unprocessable

log = logging.getLogger(__name__)


class Gone(ProblemError):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(410, code, detail, title="Gone")


class Unauthorized(ProblemError):
    def __init__(self, detail: str) -> None:
        super().__init__(
            401,
            "unauthorized",
            detail,
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )


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
        raise Conflict("phone_taken", "This phone number is already registered; sign in instead.")
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
        raise Unauthorized(f"The refresh token is invalid ({error}); sign in again.") from None
    if not await driver_store.use_refresh_token(tx, claims.jti, claims.driver_id, now):
        raise Unauthorized("The refresh token was already used; sign in again.")
    return await issue_tokens(tx, settings, claims.driver_id, now)


async def driver_or_404(tx: Tx, driver_id: UUID) -> Row[Any]:
    row = await driver_store.get_driver(tx, driver_id)
    if row is None:
        raise NotFound("driver")
    return row


async def set_online(
    tx: Tx, driver_id: UUID, online: bool, location: GeoPoint | None, now: datetime
) -> Row[Any]:
    row = await driver_store.get_driver(tx, driver_id, for_update=True)
    if row is None:
        raise NotFound("driver")
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
        raise NotFound("driver")
    wait = limits.retry_after_seconds(
        row.location_at, now, timedelta(seconds=settings.location_min_interval_seconds)
    )
    if wait:
        raise ProblemError(
            429,
            "too_many_updates",
            f"Send at most one position every {settings.location_min_interval_seconds:g} s;"
            f" retry in {wait} s.",
            title="Too many requests",
            headers={"Retry-After": str(wait)},
        )
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
    errors = []
    if mall_id not in {m.id for m in pilot_malls()}:
        errors.append(FieldError(field="mall_id", message="not a mall we serve"))
    if starts_at <= now:
        errors.append(FieldError(field="starts_at", message="must be in the future"))
    elif starts_at > now + timedelta(days=MAX_DAYS_AHEAD):
        errors.append(
            FieldError(field="starts_at", message=f"must be within {MAX_DAYS_AHEAD} days")
        )
    if not 1 <= hours <= MAX_BLOCK_HOURS:
        errors.append(FieldError(field="hours", message=f"must be between 1 and {MAX_BLOCK_HOURS}"))
    if errors:
        raise Unprocessable("Fix the block and retry.", errors)
    ends_at = starts_at + timedelta(hours=hours)
    if await driver_store.overlapping_block(tx, driver_id, starts_at, ends_at):
        raise Conflict("block_overlaps", "You already have a block then; pick another time.")
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
            "status": "open",
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
        raise NotFound("offer", "No such offer for you; refresh your offers.")
    return offer


def already_taken() -> Conflict:
    return Conflict("already_taken", "Another driver took this route; look at your other offers.")


def _check_open(offer: Row[Any], now: datetime) -> None:
    if offer.status == "accepted":
        raise already_taken()
    if offer.status == "expired" or offer.expires_at <= now:
        raise Gone("offer_expired", "This offer has expired; look at your other offers.")
    if offer.declined_at is not None:
        raise Conflict("offer_declined", "You declined this offer; look at your other offers.")


async def accept_offer(tx: Tx, offer_id: UUID, driver_id: UUID, now: datetime) -> Win:
    offer = await _offer_for_driver(tx, offer_id, driver_id)
    if offer.status == "accepted" and offer.accepted_by == driver_id:
        return await _win(tx, offer, driver_id)  # a retried accept of one's own win
    # Most losers of a race stop here, on a plain read, without waiting on any lock.
    _check_open(offer, now)
    if not await offer_store.take(tx, offer_id, driver_id, now):
        current = await _offer_for_driver(tx, offer_id, driver_id)
        _check_open(current, now)
        raise already_taken()
    stops = [RouteStop.model_validate(s) for s in offer.stops]
    try:
        async with tx.begin_nested():
            await route_store.add_route(
                tx,
                {
                    "id": offer.route_id,
                    "offer_id": offer_id,
                    "driver_id": driver_id,
                    "mall_id": offer.mall_id,
                    "pay_cents": offer.pay_cents,
                    "currency": offer.currency,
                    "hourly_floor_cents": offer.hourly_floor_cents,
                    "block_minutes": offer.block_minutes,
                    "accepted_at": now,
                },
                [_stop_values(offer.route_id, stop) for stop in stops],
            )
    except IntegrityError:
        # Another round's offer of the same route won first.
        raise already_taken() from None
    cancelled = await route_store.cancelled_among(tx, [s.shipment_id for s in stops])
    if cancelled:
        await cancel_shipments(tx, cancelled, now)
    await outbox.add(
        tx,
        OfferAccepted(
            offer_id=offer_id,
            route_id=offer.route_id,
            mall_id=offer.mall_id,
            driver_id=driver_id,
            pay_cents=offer.pay_cents,
            at=now,
        ),
        key=str(offer.route_id),
    )
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


def _stop_values(route_id: UUID, stop: RouteStop) -> dict[str, Any]:
    return {
        "id": stop.stop_id,
        "route_id": route_id,
        "sequence": stop.sequence,
        "kind": stop.kind.value,
        "shipment_id": stop.shipment_id,
        "order_id": stop.order_id,
        "store_id": stop.store_id,
        "store_name": stop.store_name,
        "lat": stop.location.lat,
        "lng": stop.location.lng,
        "address": stop.address,
        "area": stop.area,
        "instructions": stop.instructions,
        "labels": stop.labels,
        "package_count": stop.package_count,
        "eta": stop.eta,
        "deliver_by": stop.deliver_by,
        "pin_sha256": stop.pin_sha256,
        "status": "pending",
    }


async def mark_assigned(tx: Tx, route_id: UUID, driver_id: UUID, now: datetime) -> None:
    if not await route_store.mark_assigned(tx, route_id, driver_id, now):
        # Dispatch follows offer.accepted; any other driver here means the two disagree.
        log.warning(
            "route_assigned_mismatch",
            extra={"route_id": str(route_id), "driver_id": str(driver_id)},
        )


# Route execution


@dataclass(frozen=True)
class RouteState:
    route: Row[Any]
    stops: list[Row[Any]]


async def route_for_driver(
    tx: Tx, route_id: UUID, driver_id: UUID, *, for_update: bool = False
) -> RouteState:
    route = await route_store.get_route(tx, route_id, driver_id, for_update=for_update)
    if route is None:
        raise NotFound("route")  # someone else's route must look like a missing one
    return RouteState(route, await route_store.stops_of(tx, route_id))


def _stop(state: RouteState, stop_id: UUID, kind: StopKind) -> Row[Any]:
    for stop in state.stops:
        if stop.id == stop_id:
            if stop.kind != kind.value:
                raise IllegalStep(f"This stop is a {stop.kind} stop, not a {kind.value} stop.")
            if stop.status != "pending":
                raise IllegalStep(f"This stop is already {stop.status}.")
            return stop
    raise NotFound("stop")


def _pickup_of(state: RouteState, shipment_id: UUID) -> Row[Any] | None:
    return next(
        (s for s in state.stops if s.kind == "pickup" and s.shipment_id == shipment_id), None
    )


async def _finish_if_done(tx: Tx, state: RouteState, now: datetime) -> None:
    stops = await route_store.stops_of(tx, state.route.id)
    if all(s.status != "pending" for s in stops):
        await route_store.complete(tx, state.route.id, now)


async def arrive_at_pickup(
    tx: Tx,
    settings: DriverSettings,
    route_id: UUID,
    stop_id: UUID,
    driver_id: UUID,
    position: GeoPoint,
    now: datetime,
) -> None:
    state = await route_for_driver(tx, route_id, driver_id, for_update=True)
    stop = _stop(state, stop_id, StopKind.PICKUP)
    route_rules.check_within(
        Point(stop.lat, stop.lng), Point(position.lat, position.lng), settings.mall_geofence_m
    )
    if stop.arrived_at is None:
        await route_store.update_stop(tx, stop_id, arrived_at=now)


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
    state = await route_for_driver(tx, route_id, driver_id, for_update=True)
    stop = _stop(state, stop_id, StopKind.PICKUP)
    scan = route_rules.check_scan(list(stop.labels), barcodes, partial=partial)
    wait = (
        earnings.wait_pay(
            stop.arrived_at,
            now,
            timedelta(minutes=settings.free_pickup_wait_minutes),
            state.route.hourly_floor_cents,
        )
        if stop.arrived_at is not None
        else None
    )
    await route_store.update_stop(
        tx,
        stop_id,
        status="picked_up",
        picked_labels=scan.picked,
        missing_labels=scan.missing,
        done_at=now,
        wait_pay_cents=wait.paid_cents if wait else 0,
    )
    key = str(route_id)
    await outbox.add(
        tx,
        RouteStopPickedUp(
            route_id=route_id,
            stop_id=stop_id,
            mall_id=state.route.mall_id,
            driver_id=driver_id,
            order_id=stop.order_id,
            shipment_id=stop.shipment_id,
            labels=scan.picked,
            missing_labels=scan.missing,
            at=now,
        ),
        key=key,
    )
    if wait is not None and wait.paid_seconds > 0:
        await outbox.add(
            tx,
            RoutePickupWait(
                route_id=route_id,
                stop_id=stop_id,
                mall_id=state.route.mall_id,
                store_id=stop.store_id,
                driver_id=driver_id,
                waited_minutes=round(wait.waited_seconds / 60, 2),
                paid_minutes=round(wait.paid_seconds / 60, 2),
                paid_cents=wait.paid_cents,
                at=now,
            ),
            key=key,
        )
    await _finish_if_done(tx, state, now)


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
    state = await route_for_driver(tx, route_id, driver_id, for_update=True)
    stop = _stop(state, stop_id, StopKind.DROPOFF)
    _require_picked_up(state, stop)
    if stop.pin_sha256 is not None:
        route_rules.check_pin_tries(await pin_store.wrong_pins_at(tx, stop_id))
    route_rules.check_within(
        Point(stop.lat, stop.lng), Point(position.lat, position.lng), settings.delivery_geofence_m
    )
    route_rules.check_pin(stop.pin_sha256, pin)
    digest = hashlib.sha256(photo.content).hexdigest()
    await route_store.save_photo(tx, digest, photo.content_type, photo.content)
    await route_store.update_stop(
        tx, stop_id, status="delivered", proof_photo_sha256=digest, done_at=now
    )
    await outbox.add(
        tx,
        RouteStopDelivered(
            route_id=route_id,
            stop_id=stop_id,
            mall_id=state.route.mall_id,
            driver_id=driver_id,
            order_id=stop.order_id,
            shipment_id=stop.shipment_id,
            proof_photo_sha256=digest,
            at=now,
        ),
        key=str(route_id),
    )
    await _finish_if_done(tx, state, now)
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


def _require_picked_up(state: RouteState, stop: Row[Any]) -> Row[Any]:
    pickup = _pickup_of(state, stop.shipment_id)
    if pickup is None or pickup.status != "picked_up":
        raise IllegalStep("Pick this package up at the store first.")
    return pickup


async def fail(
    tx: Tx, route_id: UUID, stop_id: UUID, driver_id: UUID, reason: str, now: datetime
) -> UUID:
    state = await route_for_driver(tx, route_id, driver_id, for_update=True)
    stop = _stop(state, stop_id, StopKind.DROPOFF)
    pickup = _require_picked_up(state, stop)
    await route_store.update_stop(tx, stop_id, status="failed", fail_reason=reason, done_at=now)
    return_stop_id = await _add_return_stop(tx, state, stop, pickup, now)
    await outbox.add(
        tx,
        RouteStopFailed(
            route_id=route_id,
            stop_id=stop_id,
            mall_id=state.route.mall_id,
            driver_id=driver_id,
            order_id=stop.order_id,
            shipment_id=stop.shipment_id,
            reason=reason,
            at=now,
        ),
        key=str(route_id),
    )
    return return_stop_id


async def _add_return_stop(
    tx: Tx, state: RouteState, dropoff: Row[Any], pickup: Row[Any], now: datetime
) -> UUID:
    return_stop_id = uuid.uuid4()
    await route_store.add_stop(
        tx,
        {
            "id": return_stop_id,
            "route_id": state.route.id,
            "sequence": max(s.sequence for s in state.stops) + 1,
            "kind": StopKind.RETURN.value,
            "shipment_id": dropoff.shipment_id,
            "order_id": dropoff.order_id,
            "store_id": pickup.store_id,
            "store_name": pickup.store_name,
            "lat": pickup.lat,
            "lng": pickup.lng,
            "address": pickup.address,
            "area": pickup.area,
            "instructions": pickup.instructions,
            "labels": list(pickup.picked_labels or pickup.labels),
            "package_count": dropoff.package_count,
            "eta": now,
            "deliver_by": dropoff.deliver_by,
            "status": "pending",
        },
    )
    return return_stop_id


async def complete_return(
    tx: Tx, route_id: UUID, stop_id: UUID, driver_id: UUID, now: datetime
) -> None:
    state = await route_for_driver(tx, route_id, driver_id, for_update=True)
    stop = _stop(state, stop_id, StopKind.RETURN)
    await route_store.update_stop(tx, stop_id, status="returned", done_at=now)
    await outbox.add(
        tx,
        RouteStopReturned(
            route_id=route_id,
            stop_id=stop_id,
            mall_id=state.route.mall_id,
            driver_id=driver_id,
            order_id=stop.order_id,
            shipment_id=stop.shipment_id,
            store_id=stop.store_id,
            at=now,
        ),
        key=str(route_id),
    )
    await _finish_if_done(tx, state, now)


async def cancel_shipments(tx: Tx, shipment_ids: list[UUID], now: datetime) -> None:
    """A cancelled order: untouched stops are dropped, packages already aboard go back."""
    await route_store.remember_cancelled(tx, shipment_ids, now)
    stops = await route_store.stops_of_shipments(tx, shipment_ids)
    by_route: dict[UUID, list[Row[Any]]] = {}
    for stop in stops:
        by_route.setdefault(stop.route_id, []).append(stop)
    for route_id in by_route:
        route = await route_store.get_route_any_driver(tx, route_id)
        if route is None or route.completed_at is not None:
            continue
        state = RouteState(route, await route_store.stops_of(tx, route_id))
        for stop in state.stops:
            if stop.shipment_id not in shipment_ids or stop.status != "pending":
                continue
            pickup = _pickup_of(state, stop.shipment_id)
            await route_store.update_stop(
                tx, stop.id, status="cancelled", fail_reason="order_cancelled", done_at=now
            )
            if stop.kind == "dropoff" and pickup is not None and pickup.status == "picked_up":
                await _add_return_stop(tx, state, stop, pickup, now)
        await _finish_if_done(tx, state, now)


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
