from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert

from dispatch_service.domain.offers import DriverState
from dispatch_service.store.tables import drivers
from shared.db import Tx
from shared.events.driver import DriverAvailabilityChanged, DriverLocationUpdated
from shared.geo import Point


async def record_availability(tx: Tx, event: DriverAvailabilityChanged, now: datetime) -> None:
    values: dict[str, Any] = {
        "is_online": event.online,
        "vehicle_type": event.vehicle_type,
        "capacity_packages": event.capacity_packages,
        "updated_at": now,
    }
    if event.location is not None:
        values |= {"lat": event.location.lat, "lng": event.location.lng, "position_at": event.at}
    statement = insert(drivers).values(driver_id=event.driver_id, **values)
    await tx.execute(statement.on_conflict_do_update(index_elements=["driver_id"], set_=values))


async def record_location(tx: Tx, event: DriverLocationUpdated, now: datetime) -> bool:
    """False for a driver dispatch has not seen come online, or for a position older than the
    one it has (events of two topics are not ordered with each other)."""
    values: dict[str, Any] = {
        "lat": event.location.lat,
        "lng": event.location.lng,
        "position_at": event.at,
        "updated_at": now,
    }
    result = await tx.execute(
        update(drivers)
        .where(
            drivers.c.driver_id == event.driver_id,
            or_(drivers.c.position_at.is_(None), drivers.c.position_at <= event.at),
        )
        .values(**values)
        .returning(drivers.c.driver_id)
    )
    if result.first() is None:
        return False
    # The driver service knows which route the driver is on; an older position than the
    # assignment must not clear the route dispatch just gave them.
    await tx.execute(
        update(drivers)
        .where(
            drivers.c.driver_id == event.driver_id,
            or_(drivers.c.assigned_at.is_(None), drivers.c.assigned_at < event.at),
        )
        .values(current_route_id=event.route_id)
    )
    return True


def _state(row: Any) -> DriverState:
    has_position = row.lat is not None and row.lng is not None
    return DriverState(
        driver_id=row.driver_id,
        is_online=row.is_online,
        capacity_packages=row.capacity_packages,
        position=Point(row.lat, row.lng) if has_position else None,
        position_at=row.position_at,
        current_route_id=row.current_route_id,
    )


async def online(tx: Tx) -> list[DriverState]:
    result = await tx.execute(
        select(drivers).where(drivers.c.is_online.is_(True)).order_by(drivers.c.driver_id)
    )
    return [_state(row) for row in result.all()]


async def get(tx: Tx, driver_id: UUID) -> DriverState | None:
    row = (await tx.execute(select(drivers).where(drivers.c.driver_id == driver_id))).first()
    return None if row is None else _state(row)


async def assign_route(tx: Tx, driver_id: UUID, route_id: UUID, at: datetime) -> None:
    await tx.execute(
        update(drivers)
        .where(drivers.c.driver_id == driver_id)
        .values(current_route_id=route_id, assigned_at=at, updated_at=at)
    )
