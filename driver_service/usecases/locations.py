"""A driver's reported position, at most as often as the limits allow."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.engine import Row

from driver_service.domain import limits
from driver_service.domain.errors import TooManyUpdates, UnknownThing
from driver_service.settings import DriverSettings
from driver_service.store import drivers as driver_store
from driver_service.store import routes as route_store
from driver_service.usecases.drivers import driver_or_404
from shared import outbox
from shared.db import Tx
from shared.events.common import GeoPoint
from shared.events.driver import DriverLocationUpdated


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
