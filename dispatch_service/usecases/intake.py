"""Shipments coming in and going away: pooled when packed, re-routed, dropped when cancelled."""

from __future__ import annotations

import logging
from datetime import datetime
from uuid import UUID

from dispatch_service.domain.pool import PoolStatus
from dispatch_service.domain.route import Route, RouteStatus
from dispatch_service.store import console, routes, shipments
from dispatch_service.usecases.base import Policies, mall_point, save_with_events
from shared import tracing
from shared.db import Tx
from shared.events.order import OrderCancelled, OrderLineRerouted, OrderReadyForPickup

log = logging.getLogger(__name__)


async def take_into_pool(
    tx: Tx, ready: OrderReadyForPickup, now: datetime, policies: Policies
) -> None:
    """Into the mall's pool; a shipment re-routed away from an accepted route joins that
    driver's route instead when the driver is still at the mall and every promise holds."""
    added = await shipments.add_to_pool(tx, ready, now)
    if added:
        await shipments.announce_pooled(tx, ready.mall_id)
    order_trace = tracing.current_context()
    if added and order_trace:
        await shipments.set_trace_context(tx, ready.shipment_id, order_trace)
    await console.record_progress(
        tx,
        ready.shipment_id,
        order_id=ready.order_id,
        mall_id=ready.mall_id,
        now=now,
        store_id=ready.store_id,
        deliver_by=ready.deliver_by,
        ready_at=ready.ready_at,
    )
    log.info(
        "shipment_pooled" if added else "shipment_already_known",
        extra={"shipment_id": str(ready.shipment_id), "mall_id": ready.mall_id},
    )
    route_id = await routes.rerouted_to(tx, ready.shipment_id)
    if not added or route_id is None:
        return
    await routes.unlink_reroutes(tx, [ready.shipment_id])
    route = await routes.get(tx, route_id, for_update=True)
    shipment = await shipments.get(tx, ready.shipment_id)
    if route is None or shipment is None:
        return
    mall = mall_point(route.mall_id, shipment.pickup)
    events = route.add_shipment(shipment, mall, policies.planning.timing, now=now)
    if events:
        await shipments.mark_routed(tx, [shipment.shipment_id], route.route_id, now)
        log.info(
            "rerouted_shipment_joined_route",
            extra={"shipment_id": str(shipment.shipment_id), "route_id": str(route_id)},
        )
    elif not await is_waiting(tx, route):
        events = route.release("the re-routed order goes on another route", now=now)
    await save_with_events(tx, route, events, now)


async def record_reroute(tx: Tx, rerouted: OrderLineRerouted, now: datetime) -> None:
    """Remembers that the new shipment may join the accepted route its lines left. For the
    console: a new shipment placed at the other store, for the same promise."""
    before = await console.progress_of(
        tx, order_id=rerouted.order_id, shipment_ids=[rerouted.from_shipment_id]
    )
    await console.record_progress(
        tx,
        rerouted.to_shipment_id,
        order_id=rerouted.order_id,
        mall_id=rerouted.mall_id,
        now=now,
        store_id=rerouted.to_store_id,
        deliver_by=before[0].deliver_by if before else None,
        placed_at=now,
    )
    found = await shipments.statuses(tx, rerouted.order_id, [rerouted.from_shipment_id])
    status, route_id = found.get(rerouted.from_shipment_id, (None, None))
    if route_id is None or status != PoolStatus.ROUTED:
        # Re-routed again before it was packed: the link moves on with the lines.
        route_id = await routes.rerouted_to(tx, rerouted.from_shipment_id)
        if route_id is not None:
            await routes.unlink_reroutes(tx, [rerouted.from_shipment_id])
    if route_id is None:
        return
    route = await routes.get(tx, route_id)
    if route is not None and route.status is RouteStatus.ASSIGNED:
        await routes.link_reroute(tx, rerouted.to_shipment_id, route_id, now)


async def drop_cancelled_shipments(tx: Tx, cancelled: OrderCancelled, now: datetime) -> None:
    """Out of the pool, or off a route still on offer (which stays on offer with the rest: a
    driver may be accepting it right now). An accepted route is the driver service's to
    change; its copy comes back as route.stops_changed."""
    known = await shipments.statuses(tx, cancelled.order_id, cancelled.shipment_ids)
    route_ids = sorted({route_id for _, route_id in known.values() if route_id is not None})
    # Routes before shipments, in id order: the same lock order as the offer loop.
    locked = [await routes.get(tx, route_id, for_update=True) for route_id in route_ids]
    current = await shipments.statuses_for_update(tx, list(known))
    to_cancel = [sid for sid, (status, _) in current.items() if status != PoolStatus.CANCELLED]
    await shipments.mark_cancelled(tx, to_cancel, now)
    for part in await console.progress_of(
        tx, order_id=cancelled.order_id, shipment_ids=cancelled.shipment_ids
    ):
        await console.record_progress(
            tx,
            part.shipment_id,
            order_id=part.order_id,
            mall_id=cancelled.mall_id,
            now=now,
            cancelled_at=now,
        )
    for route in locked:
        if route is not None:
            events = route.drop_shipments(set(to_cancel), now=now)
            if route.status is RouteStatus.WITHDRAWN:
                await shipments.return_route_to_pool(tx, route.route_id, now)
            await save_with_events(tx, route, events, now)
    # Re-routed lines that will never be packed: their accepted route may have nothing left.
    for route_id in await routes.unlink_reroutes(tx, list(cancelled.shipment_ids)):
        await _release_if_idle(tx, route_id, now)
    log.info(
        "shipments_cancelled",
        extra={"order_id": str(cancelled.order_id), "shipments": len(to_cancel)},
    )


async def is_waiting(tx: Tx, route: Route) -> bool:
    """A re-routed shipment may still join the route, or joined it and the driver service's
    copy does not show it yet."""
    if await routes.has_reroutes(tx, route.route_id):
        return True
    return bool(set(await shipments.routed_to(tx, route.route_id)) - route.shipment_ids)


async def _release_if_idle(tx: Tx, route_id: UUID, now: datetime) -> None:
    route = await routes.get(tx, route_id, for_update=True)
    if route is None or await is_waiting(tx, route):
        return
    events = route.release("every order on it was cancelled", now=now)
    if events:
        await save_with_events(tx, route, events, now)
