"""At the mall: arriving at a store and scanning its packages aboard."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from driver_service.domain.route import Route
from driver_service.settings import DriverSettings
from driver_service.usecases.routes import step_route
from shared.db import Tx
from shared.events.common import GeoPoint
from shared.events.envelope import Payload
from shared.geo import Point


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
        route.arrive(stop_id, Point(position.lat, position.lng), settings.mall_geofence_m, at=now)
        return []

    await step_route(tx, route_id, driver_id, step)


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
    await step_route(
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
