"""Following what the driver service reports: a route's stops, refused stops, availability
and position.
"""

from __future__ import annotations

import logging
from datetime import datetime

from dispatch_service.store import drivers, routes, shipments
from dispatch_service.usecases.base import save_with_events
from dispatch_service.usecases.intake import is_waiting
from shared.db import Tx
from shared.events.driver import (
    DriverAvailabilityChanged,
    DriverLocationUpdated,
    RouteStopsChanged,
    RouteStopsRefused,
)
from shared.events.envelope import Payload

log = logging.getLogger(__name__)


async def follow_driver(tx: Tx, changed: RouteStopsChanged, now: datetime) -> None:
    """The driver service's copy of an accepted route; a route left with nothing to do and no
    re-routed shipment to wait for is released."""
    route = await routes.get(tx, changed.route_id, for_update=True)
    if route is None or not route.follow_driver(changed):
        return
    events: list[Payload] = []
    if not await is_waiting(tx, route):
        events = route.release("every order on it was cancelled", now=now)
    await save_with_events(tx, route, events, now)


async def take_back_refused(tx: Tx, refused: RouteStopsRefused, now: datetime) -> None:
    """Stops added to a route that had ended: their shipments wait for the next round."""
    await shipments.return_to_pool(tx, refused.shipment_ids, now)
    log.info("added_stops_refused", extra={"route_id": str(refused.route_id)})


async def record_availability(tx: Tx, event: DriverAvailabilityChanged, now: datetime) -> None:
    await drivers.record_availability(tx, event, now)


async def record_location(tx: Tx, event: DriverLocationUpdated, now: datetime) -> None:
    if not await drivers.record_location(tx, event, now):
        log.info("driver_location_ignored", extra={"driver_id": str(event.driver_id)})
