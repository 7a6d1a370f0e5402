"""What other services tell the driver's routes: cancelled shipments, added stops, a released
route, a tip.
"""

from __future__ import annotations

import logging
from datetime import datetime
from uuid import UUID

from driver_service.domain.errors import RouteEnded
from driver_service.store import routes as route_store
from driver_service.usecases.routes import add_route_events
from shared import outbox
from shared.db import Tx
from shared.events.dispatch import RouteStop
from shared.events.driver import RouteStopsRefused

log = logging.getLogger(__name__)


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
        await add_route_events(tx, route, events)


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
    await add_route_events(tx, route, events)


async def release_route(tx: Tx, route_id: UUID, now: datetime) -> None:
    route = await route_store.get(tx, route_id, for_update=True)
    if route is None:
        return
    events = route.release(at=now)
    await route_store.save(tx, route)
    await add_route_events(tx, route, events)


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
