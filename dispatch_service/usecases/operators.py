"""The operator console: what it hears, and what operators do from it."""

from __future__ import annotations

import logging
from datetime import datetime
from uuid import UUID

from dispatch_service.domain import capacity
from dispatch_service.domain.offers import Answer, OfferStatus
from dispatch_service.domain.route import Route, RouteStatus
from dispatch_service.store import console, malls, routes
from dispatch_service.usecases.base import Policies, save_with_events, tell_capacity
from dispatch_service.usecases.offers import offer_next
from shared.db import Tx
from shared.events.catalog import StoreUpserted
from shared.events.driver import (
    RouteStopDelivered,
    RouteStopFailed,
    RouteStopPickedUp,
    RouteStopReturned,
)
from shared.events.envelope import Payload
from shared.events.order import OrderAccepted, OrderPlaced

log = logging.getLogger(__name__)


async def record_store(tx: Tx, event: StoreUpserted, now: datetime) -> None:
    await console.upsert_store(tx, event, now)


async def record_order_placed(tx: Tx, placed: OrderPlaced, at: datetime) -> None:
    for part in placed.shipments:
        await console.record_progress(
            tx,
            part.shipment_id,
            order_id=placed.order_id,
            mall_id=placed.mall_id,
            now=at,
            store_id=part.store_id,
            deliver_by=placed.deliver_by,
            placed_at=at,
        )


async def record_order_accepted(tx: Tx, accepted: OrderAccepted, at: datetime) -> None:
    await console.record_progress(
        tx,
        accepted.shipment_id,
        order_id=accepted.order_id,
        mall_id=accepted.mall_id,
        now=at,
        store_id=accepted.store_id,
        accepted_at=at,
    )


async def record_stop_done(
    tx: Tx,
    event: RouteStopPickedUp | RouteStopDelivered | RouteStopFailed | RouteStopReturned,
    now: datetime,
) -> None:
    facts: dict[str, object] = {"route_id": event.route_id, "driver_id": event.driver_id}
    if isinstance(event, RouteStopPickedUp):
        facts["picked_up_at"] = event.at
    elif isinstance(event, RouteStopDelivered):
        facts["delivered_at"] = event.at
    elif isinstance(event, RouteStopFailed):
        facts |= {"failed_at": event.at, "failure_reason": event.reason}
    else:
        facts["returned_at"] = event.at
    await console.record_progress(
        tx, event.shipment_id, order_id=event.order_id, mall_id=event.mall_id, now=now, **facts
    )


class ActionRefused(Exception):
    """An operator's action that the current state does not allow; `detail` says what to do."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


async def set_same_day_paused(
    tx: Tx, mall_id: str, *, is_paused: bool, operator: str, now: datetime, policies: Policies
) -> bool:
    """Pauses or resumes same-day for a mall through the catalog's capacity signal; False when
    it already was so. Resuming restores what dispatch's own capacity state says."""
    _, state = await malls.state_for_update(tx, mall_id)
    if await malls.is_paused(tx, mall_id) == is_paused:
        return False
    await malls.set_paused(tx, mall_id, is_paused=is_paused, operator=operator, now=now)
    if is_paused:
        signal = capacity.CapacitySignal(False, 0, f"paused by operator {operator}")
    else:
        restored = capacity.signal_for(state.status, policies.capacity)
        signal = capacity.CapacitySignal(
            restored.same_day_enabled,
            restored.promise_delay_minutes,
            f"resumed by operator {operator}; {restored.reason}",
        )
    await tell_capacity(tx, mall_id, signal)
    log.info(
        "same_day_paused" if is_paused else "same_day_resumed",
        extra={"mall_id": mall_id, "operator": operator},
    )
    return True


async def reoffer_with_boost(
    tx: Tx, route_id: UUID, boost_pct: int, now: datetime, policies: Policies
) -> Route:
    """Closes the route's open offer and offers it anew at a boosted pay, to drivers who have
    not seen that much for it. ActionRefused when it is no longer looking for a driver, or when
    no eligible driver is near (the caller's transaction then rolls back: nothing changes)."""
    route = await routes.get(tx, route_id, for_update=True)
    if route is None:
        raise ActionRefused("not_found", "No such route; check the id.")
    if route.status is not RouteStatus.OFFERING:
        raise ActionRefused(
            "route_not_on_offer",
            f"The route is {route.status.value}, not on offer; nothing to boost.",
        )
    events: list[Payload] = []
    if route.open_offer is not None:
        events += route.close_offer(
            route.open_offer.offer_id, OfferStatus.WITHDRAWN, Answer.WITHDRAWN, now=now
        )
    events += await offer_next(tx, route, len(route.offers) + 1, now, policies, boost_pct=boost_pct)
    if route.open_offer is None:
        raise ActionRefused(
            "no_driver_to_ask",
            "No eligible driver near the mall has not already seen this pay; "
            "try a bigger boost or wait for drivers.",
        )
    await save_with_events(tx, route, events, now)
    return route
