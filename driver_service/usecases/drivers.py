"""Drivers and their tokens: signing up, signing in again (refresh), going online and offline.
The caller owns `tx`, as for every use case.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.engine import Row

from driver_service import auth
from driver_service.domain.errors import InvalidToken, PhoneTaken, UnknownThing
from driver_service.domain.vehicles import CAPACITY_PACKAGES, VehicleType
from driver_service.settings import DriverSettings
from driver_service.store import drivers as driver_store
from shared import outbox
from shared.db import Tx
from shared.events.common import GeoPoint
from shared.events.driver import DriverAvailabilityChanged


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_in: int


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
