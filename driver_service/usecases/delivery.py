"""At the door: delivering with a PIN and a photo, failing, returning to the store; proof photos."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from driver_service.domain import stop_rules
from driver_service.domain.errors import PinMismatch
from driver_service.domain.route import Route
from driver_service.settings import DriverSettings
from driver_service.store import pins as pin_store
from driver_service.store import routes as route_store
from driver_service.usecases.routes import step_route
from shared.db import Tx
from shared.events.common import GeoPoint
from shared.events.envelope import Payload
from shared.geo import Point

log = logging.getLogger(__name__)


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
            stop_rules.check_pin_tries(wrong_pins)
        return route.deliver(
            stop_id,
            Point(position.lat, position.lng),
            settings.delivery_geofence_m,
            pin,
            digest,
            at=now,
        )

    await step_route(tx, route_id, driver_id, step)
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
            "is_locked": wrong >= stop_rules.MAX_WRONG_PINS,
        },
    )
    return stop_rules.after_wrong_pin(wrong)


async def fail(
    tx: Tx, route_id: UUID, stop_id: UUID, driver_id: UUID, reason: str, now: datetime
) -> UUID:
    back: list[UUID] = []

    def step(route: Route) -> list[Payload]:
        return_stop_id, events = route.fail(stop_id, reason, at=now)
        back.append(return_stop_id)
        return events

    await step_route(tx, route_id, driver_id, step)
    return back[0]


async def complete_return(
    tx: Tx, route_id: UUID, stop_id: UUID, driver_id: UUID, now: datetime
) -> None:
    await step_route(tx, route_id, driver_id, lambda route: route.hand_back(stop_id, at=now))


async def proof_photo(tx: Tx, sha256: str) -> tuple[str, bytes] | None:
    return await route_store.photo(tx, sha256)
