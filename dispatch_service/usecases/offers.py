"""Offering planned routes to drivers, and following what the drivers answered."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from uuid import UUID

from dispatch_service import metrics
from dispatch_service.domain import surge
from dispatch_service.domain.offers import Answer, OfferStatus, rank_drivers
from dispatch_service.domain.pool import PoolStatus
from dispatch_service.domain.route import IllegalRouteStep, Route, RouteStatus
from dispatch_service.store import drivers, routes, shipments
from dispatch_service.usecases.base import Policies, mall_point, pickup_area, save_with_events
from shared.db import Db, Tx
from shared.events.dispatch import StopKind
from shared.events.driver import OfferAccepted, OfferDeclined
from shared.events.envelope import Payload
from shared.geo import Point

log = logging.getLogger(__name__)


async def run_offer_rounds(db: Db, now: datetime, policies: Policies) -> None:
    """What the offer timer calls: expire offers past due, re-offer, surge, or give up."""
    async with db.begin() as tx:
        route_ids = await routes.offering_ids(tx)
    for route_id in route_ids:
        async with db.begin() as tx:
            route = await routes.lock_offering(tx, route_id)
            if route is not None:
                await save_with_events(
                    tx, route, await advance_route(tx, route, now, policies), now
                )


async def advance_route(tx: Tx, route: Route, now: datetime, policies: Policies) -> list[Payload]:
    open_offer = route.open_offer
    if open_offer is not None and open_offer.expires_at > now:
        return []
    events: list[Payload] = []
    if open_offer is not None:
        events += route.close_offer(
            open_offer.offer_id, OfferStatus.EXPIRED, Answer.EXPIRED, now=now
        )
    if now > route.latest_start_at:
        return events + await _withdraw(tx, route, "no driver took it in time", now)
    if len(route.offers) >= policies.max_offer_rounds:
        reason = f"no taker in {len(route.offers)} offer rounds"
        return events + await _withdraw(tx, route, reason, now)
    return events + await offer_next(tx, route, len(route.offers) + 1, now, policies)


async def offer_next(
    tx: Tx,
    route: Route,
    round_number: int,
    now: datetime,
    policies: Policies,
    boost_pct: int = 0,
) -> list[Payload]:
    """Offers the route to the next few eligible drivers; nothing when there is nobody to ask
    yet (the offer loop asks again as drivers come near or the radius widens). An operator's
    boost raises the pay on top of any surge."""
    first_pickup = next(s for s in route.stops if s.kind is StopKind.PICKUP)
    mall = mall_point(route.mall_id, Point(first_pickup.location.lat, first_pickup.location.lng))
    level = surge.offer_level(
        route.latest_start_at - now, policies.surge.slack_thresholds, round_number=round_number
    )
    pay_cents = surge.surged_pay(route.base_pay_cents, level, policies.surge)
    pay_cents = -(-pay_cents * (100 + boost_pct) // 100)
    radius_m = surge.offer_radius_m(level, policies.surge)
    # Offers this round closed are saved first: their drivers are free to be asked again.
    await routes.save(tx, route, now)
    candidates = rank_drivers(
        await drivers.online(tx),
        mall,
        now=now,
        radius_m=radius_m,
        min_capacity=route.max_load,
        fresh_for=policies.position_fresh,
        pay_cents=pay_cents,
        best_pay_shown=await routes.best_pay_shown(tx, route.route_id),
        busy=await routes.drivers_holding_open_offers(tx),
        limit=policies.drivers_per_offer,
    )
    if not candidates:
        return []
    offer_id = uuid.uuid4()
    events = route.offer_to(
        offer_id=offer_id,
        round_number=round_number,
        pay_cents=pay_cents,
        surge_level=level,
        radius_m=radius_m,
        candidates=candidates,
        pickup_area=pickup_area(route.mall_id, route.mall_name),
        now=now,
        expires_at=now + policies.offer_ttl,
    )
    metrics.OFFERS.labels(route.mall_id).inc()
    # The offer's row first: the visibility log points at it.
    await routes.save(tx, route, now)
    await routes.add_views(
        tx,
        offer_id=offer_id,
        route_id=route.route_id,
        pay_cents=pay_cents,
        candidates=candidates,
        now=now,
    )
    log.info(
        "route_offered",
        extra={
            "route_id": str(route.route_id),
            "round": round_number,
            "drivers": len(candidates),
            "pay_cents": pay_cents,
            "surge_level": level,
        },
    )
    return events


async def _withdraw(tx: Tx, route: Route, reason: str, now: datetime) -> list[Payload]:
    """Back to the pool: the next round plans its shipments again, split or merged anew."""
    events = route.withdraw(reason, now=now)
    returned = await shipments.return_route_to_pool(tx, route.route_id, now)
    log.info(
        "route_withdrawn",
        extra={"route_id": str(route.route_id), "reason": reason, "shipments": returned},
    )
    return events


async def record_offer_accepted(tx: Tx, accepted: OfferAccepted, now: datetime) -> None:
    """The driver service decided who won; dispatch follows. A route withdrawn before the
    accept arrived is taken back if its shipments still wait in the pool, else released."""
    route = await routes.get(tx, accepted.route_id, for_update=True)
    if route is None or route.offer(accepted.offer_id) is None:
        log.warning("offer_accept_unknown", extra={"offer_id": str(accepted.offer_id)})
        return
    reclaimable: set[UUID] = set()
    if route.status is RouteStatus.WITHDRAWN:
        current = await shipments.statuses_for_update(tx, list(route.shipment_ids))
        reclaimable = {sid for sid, (status, _) in current.items() if status == PoolStatus.POOLED}
    try:
        events = route.accept(
            accepted.offer_id,
            accepted.driver_id,
            accepted.pay_cents,
            at=accepted.at,
            reclaimable=reclaimable,
        )
    except IllegalRouteStep as error:
        log.warning(
            "offer_accept_ignored",
            extra={"route_id": str(route.route_id), "route_status": error.status.value},
        )
        return
    if route.status is RouteStatus.ASSIGNED:
        await shipments.mark_routed(tx, route.shipment_ids, route.route_id, now)
        if not await routes.answer_view(
            tx, accepted.offer_id, accepted.driver_id, Answer.ACCEPTED, accepted.at
        ):
            log.warning(
                "offer_accepted_by_unshown_driver", extra={"offer_id": str(accepted.offer_id)}
            )
        await drivers.assign_route(tx, accepted.driver_id, route.route_id, accepted.at)
        first_offered_at = min(offer.created_at for offer in route.offers)
        metrics.OFFERS_ACCEPTED.labels(route.mall_id).inc()
        metrics.TIME_TO_ACCEPT.labels(route.mall_id).observe(
            max(0.0, (accepted.at - first_offered_at).total_seconds())
        )
    await save_with_events(tx, route, events, now)
    log.info(
        "route_assigned" if route.status is RouteStatus.ASSIGNED else "late_accept_released",
        extra={"route_id": str(route.route_id), "driver_id": str(accepted.driver_id)},
    )


async def record_offer_declined(
    tx: Tx, declined: OfferDeclined, now: datetime, policies: Policies
) -> None:
    """Logged; once every driver of the round has declined, the next drivers are asked now."""
    route = await routes.get(tx, declined.route_id, for_update=True)
    offer = route.offer(declined.offer_id) if route is not None else None
    if route is None or offer is None:
        log.warning("offer_decline_unknown", extra={"offer_id": str(declined.offer_id)})
        return
    await routes.answer_view(tx, offer.offer_id, declined.driver_id, Answer.DECLINED, declined.at)
    if offer.status is not OfferStatus.OPEN or route.status is not RouteStatus.OFFERING:
        return
    if await routes.count_pending(tx, offer.offer_id) == 0:
        events = route.close_offer(offer.offer_id, OfferStatus.DECLINED, Answer.EXPIRED, now=now)
        events += await advance_route(tx, route, now, policies)
        await save_with_events(tx, route, events, now)
