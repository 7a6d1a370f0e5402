"""Route execution: load under the route's row lock, one domain step, save, events."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from driver_service.domain.errors import UnknownThing
from driver_service.domain.route import Route
from driver_service.store import routes as route_store
from shared import outbox
from shared.db import Tx
from shared.events.envelope import Payload

log = logging.getLogger(__name__)


async def add_route_events(tx: Tx, route: Route, events: list[Payload]) -> None:
    for event in events:
        await outbox.add(tx, event, key=str(route.id))


async def route_for_driver(
    tx: Tx, route_id: UUID, driver_id: UUID, *, for_update: bool = False
) -> Route:
    route = await route_store.get(tx, route_id, driver_id=driver_id, for_update=for_update)
    if route is None:
        raise UnknownThing("route")  # someone else's route must look like a missing one
    return route


async def step_route(
    tx: Tx, route_id: UUID, driver_id: UUID, step: Callable[[Route], list[Payload]]
) -> Route:
    route = await route_for_driver(tx, route_id, driver_id, for_update=True)
    events = step(route)
    await route_store.save(tx, route)
    await add_route_events(tx, route, events)
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
