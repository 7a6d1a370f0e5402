"""Dispatch's use cases: load, decide with domain/, save and add events in one transaction."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from dispatch_service.domain import capacity, pay, surge
from dispatch_service.domain.offers import (
    DriverState,
    eligible_distance_m,
    is_serving_near,
    rank_drivers,
)
from dispatch_service.domain.planning import Plan, PlannedRoute, PlanningPolicy, plan_routes
from dispatch_service.domain.pool import PooledShipment, Timing, is_promise_at_risk, is_round_due
from dispatch_service.settings import DispatchSettings
from dispatch_service.store import console, drivers, malls, routes, shipments
from dispatch_service.store.routes import Answer, OfferStatus, RouteRecord, RouteStatus
from dispatch_service.store.shipments import ShipmentStatus
from shared import outbox
from shared.db import Db, Tx
from shared.events.catalog import StoreUpserted
from shared.events.dispatch import (
    OrderPromiseAtRisk,
    RouteAssigned,
    RouteOffered,
    RouteOfferExpired,
    RoutePlanned,
    StopKind,
    ZoneCapacityChanged,
)
from shared.events.driver import (
    DriverAvailabilityChanged,
    DriverLocationUpdated,
    OfferAccepted,
    OfferDeclined,
    RouteStopDelivered,
    RouteStopFailed,
    RouteStopPickedUp,
    RouteStopReturned,
)
from shared.events.order import (
    OrderAccepted,
    OrderCancelled,
    OrderLineRerouted,
    OrderPlaced,
    OrderReadyForPickup,
)
from shared.geo import Point, TravelModel
from shared.malls import pilot_malls

log = logging.getLogger(__name__)

CURRENCY = "USD"


@dataclass(frozen=True)
class Policies:
    """Every rule's parameters, built once from the settings."""

    planning: PlanningPolicy
    pay: pay.PayPolicy
    surge: surge.SurgePolicy
    capacity: capacity.CapacityPolicy
    round_interval: timedelta
    round_min_gap: timedelta
    round_trigger_size: int
    round_slack_trigger: timedelta
    max_route_packages: int
    offer_ttl: timedelta
    drivers_per_offer: int
    position_fresh: timedelta
    max_offer_rounds: int

    @classmethod
    def from_settings(cls, settings: DispatchSettings) -> Policies:
        timing = Timing(
            travel=TravelModel(settings.road_factor, settings.average_speed_kmh),
            lead=timedelta(minutes=settings.dispatch_lead_minutes),
            pickup_service=timedelta(seconds=settings.pickup_service_seconds),
            delivery_service=timedelta(seconds=settings.delivery_service_seconds),
        )
        return cls(
            planning=PlanningPolicy(
                timing=timing,
                block=timedelta(minutes=settings.block_minutes),
                route_fixed_cost_m=settings.route_fixed_cost_m,
                late_delivery_window=timedelta(minutes=settings.late_delivery_window_minutes),
                solve_seconds=settings.solve_seconds,
                seed=settings.solve_seed,
            ),
            pay=pay.PayPolicy(
                hourly_cents={
                    pay.BlockType.SHORT: settings.short_block_hourly_cents,
                    pay.BlockType.STANDARD: settings.standard_block_hourly_cents,
                    pay.BlockType.LONG: settings.long_block_hourly_cents,
                },
                per_stop_cents=settings.per_stop_cents,
                per_mile_cents=settings.per_mile_cents,
            ),
            surge=surge.SurgePolicy(
                slack_thresholds=tuple(
                    timedelta(minutes=m) for m in settings.surge_slack_thresholds_minutes
                ),
                step_pct=settings.surge_step_pct,
                cap_pct=settings.surge_cap_pct,
                base_radius_m=settings.offer_radius_m,
                radius_step_m=settings.surge_radius_step_m,
                max_radius_m=settings.max_offer_radius_m,
            ),
            capacity=capacity.CapacityPolicy(
                at_risk_saturation_count=settings.at_risk_saturation_count,
                rounds=settings.saturation_rounds,
                promise_delay_minutes=settings.saturation_promise_delay_minutes,
            ),
            round_interval=timedelta(seconds=settings.batch_interval_seconds),
            round_min_gap=timedelta(seconds=settings.batch_min_gap_seconds),
            round_trigger_size=settings.batch_pool_trigger_size,
            round_slack_trigger=timedelta(minutes=settings.batch_slack_trigger_minutes),
            max_route_packages=settings.max_route_packages,
            offer_ttl=timedelta(seconds=settings.offer_ttl_seconds),
            drivers_per_offer=settings.drivers_per_offer,
            position_fresh=timedelta(seconds=settings.position_fresh_seconds),
            max_offer_rounds=settings.max_offer_rounds,
        )


def mall_point(mall_id: str, fallback: Point) -> Point:
    """Drivers start and end at the mall; a mall outside the pilot list starts at its stores."""
    for mall in pilot_malls():
        if mall.id == mall_id:
            return mall.point
    return fallback


def pickup_area(mall_id: str, mall_name: str) -> str:
    for mall in pilot_malls():
        if mall.id == mall_id:
            # "3200 S Las Vegas Blvd, Las Vegas, NV 89109" -> "Las Vegas, NV 89109"
            return mall.address.partition(", ")[2] or mall.name
    return mall_name


async def take_into_pool(tx: Tx, ready: OrderReadyForPickup, now: datetime) -> None:
    added = await shipments.add_to_pool(tx, ready, now)
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


async def cancel_shipments(tx: Tx, cancelled: OrderCancelled, now: datetime) -> None:
    """Out of the pool, or off a route: a route still on offer goes back to the pool to be
    planned again without them; an assigned route loses their stops (the driver service hears
    of the cancellation itself)."""
    known = await shipments.statuses(tx, cancelled.order_id, cancelled.shipment_ids)
    route_ids = sorted({route_id for _, route_id in known.values() if route_id is not None})
    # Routes before shipments, in id order: the same lock order as the offer loop.
    locked = [await routes.get(tx, route_id, for_update=True) for route_id in route_ids]
    current = await shipments.statuses_for_update(tx, list(known))
    to_cancel = [sid for sid, (status, _) in current.items() if status != ShipmentStatus.CANCELLED]
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
        if route is None:
            continue
        if route.status is RouteStatus.OFFERING:
            await _withdraw(tx, route, "order cancelled", now)
        elif route.status is RouteStatus.ASSIGNED:
            gone = set(to_cancel)
            kept = [stop for stop in route.stops if stop.shipment_id not in gone]
            resequenced = [stop.model_copy(update={"sequence": i}) for i, stop in enumerate(kept)]
            await routes.replace_stops(tx, route.route_id, resequenced, now)
    log.info(
        "shipments_cancelled",
        extra={"order_id": str(cancelled.order_id), "shipments": len(to_cancel)},
    )


async def record_availability(tx: Tx, event: DriverAvailabilityChanged, now: datetime) -> None:
    await drivers.record_availability(tx, event, now)


async def record_location(tx: Tx, event: DriverLocationUpdated, now: datetime) -> None:
    if not await drivers.record_location(tx, event, now):
        log.info("driver_location_ignored", extra={"driver_id": str(event.driver_id)})


@dataclass
class RoundReport:
    mall_id: str
    planned: list[UUID] = field(default_factory=list)
    dropped: int = 0
    flagged_at_risk: list[UUID] = field(default_factory=list)


async def run_due_rounds(db: Db, now: datetime, policies: Policies) -> list[RoundReport]:
    """What the batching timer calls: a round for every mall whose round is due."""
    async with db.begin() as tx:
        mall_ids = sorted(
            set(await shipments.malls_with_pool(tx)) | set(await malls.not_normal(tx))
        )
    reports = []
    for mall_id in mall_ids:
        async with db.begin() as tx:
            pool = await shipments.pooled(tx, mall_id)
            last_round_at, was_short_of_drivers = await malls.last_round(tx, mall_id)
            mall = mall_point(mall_id, pool[0].pickup if pool else Point(0.0, 0.0))
            free_drivers = 0
            if pool and was_short_of_drivers:
                free_drivers = await _free_vehicles(tx, mall_id, mall, now, policies)
        due = is_round_due(
            pool,
            mall,
            now=now,
            last_round_at=last_round_at,
            interval=policies.round_interval,
            min_gap=policies.round_min_gap,
            trigger_size=policies.round_trigger_size,
            slack_trigger=policies.round_slack_trigger,
            timing=policies.planning.timing,
            was_short_of_drivers=was_short_of_drivers,
            free_drivers=free_drivers,
        )
        # A mall whose same-day is off or delayed keeps its rounds going until it recovers.
        recovering = not pool and (
            last_round_at is None or now - last_round_at >= policies.round_interval
        )
        if due or recovering:
            reports.append(await plan_mall(db, mall_id, now, policies))
    return reports


def _reachable(
    online: list[DriverState], mall: Point, now: datetime, policies: Policies
) -> list[DriverState]:
    """Free drivers a route of this mall could be offered to, at the widest surge radius."""
    return [
        d
        for d in online
        if eligible_distance_m(
            d,
            mall,
            now=now,
            radius_m=policies.surge.max_radius_m,
            min_capacity=1,
            fresh_for=policies.position_fresh,
        )
        is not None
    ]


async def _free_vehicles(
    tx: Tx, mall_id: str, mall: Point, now: datetime, policies: Policies
) -> int:
    """Reachable free drivers not already spoken for by this mall's routes looking for one."""
    reachable = _reachable(await drivers.online(tx), mall, now, policies)
    return len(reachable) - await routes.count_offering(tx, mall_id)


async def plan_mall(db: Db, mall_id: str, now: datetime, policies: Policies) -> RoundReport:
    """One batching round: solve outside any transaction, then save what is still pooled."""
    async with db.begin() as tx:
        pool = await shipments.pooled(tx, mall_id)
        online = await drivers.online(tx)
        waiting_routes = await routes.count_offering(tx, mall_id)
        mall_name = await shipments.mall_name(tx, mall_id) or mall_id
    mall = mall_point(mall_id, pool[0].pickup if pool else Point(0.0, 0.0))
    reachable = _reachable(online, mall, now, policies)
    # Routes still looking for a driver will take some of these drivers.
    vehicles = len(reachable) - waiting_routes
    vehicle_capacity = min(
        policies.max_route_packages, max((d.capacity_packages for d in reachable), default=0)
    )
    plan = Plan((), tuple(s.shipment_id for s in pool), None)
    if pool and vehicles >= 1:
        plan = await asyncio.to_thread(
            plan_routes,
            mall,
            pool,
            drivers=vehicles,
            capacity=vehicle_capacity,
            now=now,
            policy=policies.planning,
            new_route_id=uuid.uuid4,
        )
    if plan.violations:
        log.error(
            "plan_failed_check",
            extra={"mall_id": mall_id, "violations": list(plan.violations)[:10]},
        )

    report = RoundReport(mall_id)
    async with db.begin() as tx:
        # The mall's row serialises rounds of one mall across dispatch instances.
        _, state = await malls.state_for_update(tx, mall_id)
        current = await shipments.statuses_for_update(tx, [s.shipment_id for s in pool])
        still_pooled = {
            sid for sid, (status, _) in current.items() if status == ShipmentStatus.POOLED
        }
        for planned in plan.routes:
            if not planned.shipment_ids <= still_pooled:
                # Cancelled or planned by another instance while this round solved.
                log.info("planned_route_discarded", extra={"mall_id": mall_id})
                continue
            await _save_route(tx, planned, mall_id, mall_name, now, policies)
            still_pooled -= planned.shipment_ids
            report.planned.append(planned.route_id)
        report.dropped = len(still_pooled)
        report.flagged_at_risk = await _flag_at_risk(
            tx, [s for s in pool if s.shipment_id in still_pooled], mall, now, policies
        )
        # Every free driver got a route and shipments still wait: the fleet was the limit.
        is_short_of_drivers = report.dropped > 0 and len(report.planned) >= max(vehicles, 0)
        observed = capacity.observed_status(
            is_short_of_drivers=is_short_of_drivers,
            pool_size=len(still_pooled),
            at_risk_count=await shipments.count_at_risk_in_pool(tx, mall_id),
            # Drivers out on routes come back: only a mall nobody serves stops same-day.
            has_drivers=any(
                is_serving_near(
                    d,
                    mall,
                    now=now,
                    radius_m=policies.surge.max_radius_m,
                    fresh_for=policies.position_fresh,
                )
                for d in online
            ),
            policy=policies.capacity,
        )
        state, signal = capacity.observe(state, observed, policies.capacity)
        # An operator's pause holds until they resume it; resuming sends the state of then.
        if signal is not None and await malls.is_paused(tx, mall_id):
            signal = None
        await malls.save_state(
            tx,
            mall_id,
            round_at=now,
            state=state,
            changed=signal is not None,
            is_short_of_drivers=is_short_of_drivers,
        )
        if signal is not None:
            await outbox.add(
                tx,
                ZoneCapacityChanged(
                    mall_id=mall_id,
                    same_day_enabled=signal.same_day_enabled,
                    promise_delay_minutes=signal.promise_delay_minutes,
                    reason=signal.reason,
                ),
                key=mall_id,
            )
    log.info(
        "batching_round",
        extra={
            "mall_id": mall_id,
            "pool": len(pool),
            "drivers": len(reachable),
            "routes": len(report.planned),
            "dropped": report.dropped,
            "at_risk": len(report.flagged_at_risk),
            "method": plan.method,
        },
    )
    return report


async def _save_route(
    tx: Tx,
    planned: PlannedRoute,
    mall_id: str,
    mall_name: str,
    now: datetime,
    policies: Policies,
) -> None:
    quote = pay.quote(
        policies.pay,
        planned_minutes=planned.planned_minutes,
        stop_count=len(planned.stops),
        miles=planned.planned_miles,
    )
    await routes.add(
        tx, planned, mall_id=mall_id, mall_name=mall_name, quote=quote, currency=CURRENCY, now=now
    )
    await shipments.mark_routed(tx, planned.shipment_ids, planned.route_id, now)
    await outbox.add(
        tx,
        RoutePlanned(
            route_id=planned.route_id,
            mall_id=mall_id,
            stops=list(planned.stops),
            planned_miles=planned.planned_miles,
            planned_minutes=planned.planned_minutes,
        ),
        key=mall_id,
    )
    route = await routes.get(tx, planned.route_id, for_update=True)
    if route is not None:
        await _offer_next(tx, route, 1, now, policies)


async def _flag_at_risk(
    tx: Tx, left: list[PooledShipment], mall: Point, now: datetime, policies: Policies
) -> list[UUID]:
    """Flags, once each, the shipments left in the pool that can no longer make their promise."""
    lost = [
        s
        for s in left
        if not s.is_flagged_at_risk and is_promise_at_risk(s, mall, now, policies.planning.timing)
    ]
    await shipments.flag_at_risk(tx, [s.shipment_id for s in lost], now)
    for s in lost:
        await outbox.add(
            tx,
            OrderPromiseAtRisk(
                order_id=s.order_id,
                shipment_id=s.shipment_id,
                mall_id=s.mall_id,
                deliver_by=s.deliver_by,
                reason="no route can reach the customer by the promised time",
            ),
            key=s.mall_id,
        )
    return [s.shipment_id for s in lost]


async def run_offer_rounds(db: Db, now: datetime, policies: Policies) -> None:
    """What the offer timer calls: expire offers past due, re-offer, surge, or give up."""
    async with db.begin() as tx:
        route_ids = await routes.offering_ids(tx)
    for route_id in route_ids:
        async with db.begin() as tx:
            route = await routes.lock_offering(tx, route_id)
            if route is not None:
                await advance_route(tx, route, now, policies)


async def advance_route(tx: Tx, route: RouteRecord, now: datetime, policies: Policies) -> None:
    offers = await routes.offers_of(tx, route.route_id)
    open_offer = next((o for o in offers if o.status is OfferStatus.OPEN), None)
    if open_offer is not None and open_offer.expires_at > now:
        return
    if open_offer is not None:
        await routes.close_offer(
            tx, open_offer.offer_id, OfferStatus.EXPIRED, pending_answer=Answer.EXPIRED, now=now
        )
        await _publish_offer_closed(tx, route, open_offer.offer_id)
    if now > route.latest_start_at:
        await _withdraw(tx, route, "no driver took it in time", now)
        return
    if len(offers) >= policies.max_offer_rounds:
        await _withdraw(tx, route, f"no taker in {len(offers)} offer rounds", now)
        return
    await _offer_next(tx, route, len(offers) + 1, now, policies)


async def _offer_next(
    tx: Tx,
    route: RouteRecord,
    round_number: int,
    now: datetime,
    policies: Policies,
    boost_pct: int = 0,
) -> UUID | None:
    """Offers the route to the next few eligible drivers; None when there is nobody to ask yet
    (the offer loop asks again as drivers come near or the radius widens). An operator's boost
    raises the pay on top of any surge."""
    first_pickup = next(s for s in route.stops if s.kind is StopKind.PICKUP)
    mall = mall_point(route.mall_id, Point(first_pickup.location.lat, first_pickup.location.lng))
    level = surge.offer_level(
        route.latest_start_at - now, policies.surge.slack_thresholds, round_number=round_number
    )
    pay_cents = surge.surged_pay(route.base_pay_cents, level, policies.surge)
    pay_cents = -(-pay_cents * (100 + boost_pct) // 100)
    radius_m = surge.offer_radius_m(level, policies.surge)
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
        return None
    offer_id = uuid.uuid4()
    expires_at = now + policies.offer_ttl
    await routes.add_offer(
        tx,
        offer_id=offer_id,
        route=route,
        round_number=round_number,
        pay_cents=pay_cents,
        surge_level=level,
        radius_m=radius_m,
        candidates=candidates,
        now=now,
        expires_at=expires_at,
    )
    await outbox.add(
        tx,
        RouteOffered(
            offer_id=offer_id,
            route_id=route.route_id,
            mall_id=route.mall_id,
            mall_name=route.mall_name,
            driver_ids=[c.driver_id for c in candidates],
            pay_cents=pay_cents,
            currency=route.currency,
            hourly_floor_cents=route.hourly_floor_cents,
            block_minutes=route.block_minutes,
            expected_miles=route.planned_miles,
            stop_count=len(route.stops),
            pickup_area=pickup_area(route.mall_id, route.mall_name),
            stops=list(route.stops),
            expires_at=expires_at,
            round=round_number,
            expected_minutes=route.planned_minutes,
        ),
        key=route.mall_id,
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
    return offer_id


async def _publish_offer_closed(tx: Tx, route: RouteRecord, offer_id: UUID) -> None:
    await outbox.add(
        tx,
        RouteOfferExpired(offer_id=offer_id, route_id=route.route_id, mall_id=route.mall_id),
        key=route.mall_id,
    )


async def _withdraw(tx: Tx, route: RouteRecord, reason: str, now: datetime) -> None:
    """Back to the pool: the next round plans its shipments again, split or merged anew."""
    for offer in await routes.offers_of(tx, route.route_id):
        if offer.status is OfferStatus.OPEN:
            await routes.close_offer(
                tx, offer.offer_id, OfferStatus.WITHDRAWN, pending_answer=Answer.WITHDRAWN, now=now
            )
            await _publish_offer_closed(tx, route, offer.offer_id)
    await routes.withdraw(tx, route.route_id, reason, now)
    returned = await shipments.return_route_to_pool(tx, route.route_id, now)
    log.info(
        "route_withdrawn",
        extra={"route_id": str(route.route_id), "reason": reason, "shipments": returned},
    )


async def accept_offer(tx: Tx, accepted: OfferAccepted, now: datetime) -> None:
    """The driver service decided who won; dispatch follows unless the route is gone."""
    route = await routes.get(tx, accepted.route_id, for_update=True)
    offer = await routes.get_offer(tx, accepted.offer_id)
    if route is None or offer is None or offer.route_id != route.route_id:
        log.warning("offer_accept_unknown", extra={"offer_id": str(accepted.offer_id)})
        return
    if route.status is not RouteStatus.OFFERING:
        log.warning(
            "offer_accept_ignored",
            extra={"route_id": str(route.route_id), "route_status": route.status},
        )
        return
    await routes.set_offer_status(tx, offer.offer_id, OfferStatus.ACCEPTED, now)
    if not await routes.answer_view(
        tx, offer.offer_id, accepted.driver_id, Answer.ACCEPTED, accepted.at
    ):
        log.warning("offer_accepted_by_unshown_driver", extra={"offer_id": str(offer.offer_id)})
    await routes.answer_pending(tx, offer.offer_id, Answer.TAKEN, now)
    for other in await routes.offers_of(tx, route.route_id):
        if other.status is OfferStatus.OPEN and other.offer_id != offer.offer_id:
            await routes.close_offer(
                tx, other.offer_id, OfferStatus.WITHDRAWN, pending_answer=Answer.TAKEN, now=now
            )
            await _publish_offer_closed(tx, route, other.offer_id)
    await routes.assign(
        tx,
        route.route_id,
        driver_id=accepted.driver_id,
        offer_id=offer.offer_id,
        pay_cents=accepted.pay_cents,
        at=accepted.at,
    )
    await drivers.assign_route(tx, accepted.driver_id, route.route_id, accepted.at)
    await outbox.add(
        tx,
        RouteAssigned(
            route_id=route.route_id,
            offer_id=offer.offer_id,
            mall_id=route.mall_id,
            driver_id=accepted.driver_id,
            pay_cents=accepted.pay_cents,
            order_ids=route.order_ids,
        ),
        key=route.mall_id,
    )
    log.info(
        "route_assigned",
        extra={"route_id": str(route.route_id), "driver_id": str(accepted.driver_id)},
    )


async def decline_offer(tx: Tx, declined: OfferDeclined, now: datetime, policies: Policies) -> None:
    """Logged; once every driver of the round has declined, the next drivers are asked now."""
    route = await routes.get(tx, declined.route_id, for_update=True)
    offer = await routes.get_offer(tx, declined.offer_id)
    if route is None or offer is None:
        log.warning("offer_decline_unknown", extra={"offer_id": str(declined.offer_id)})
        return
    await routes.answer_view(tx, offer.offer_id, declined.driver_id, Answer.DECLINED, declined.at)
    if offer.status is not OfferStatus.OPEN or route.status is not RouteStatus.OFFERING:
        return
    if await routes.count_pending(tx, offer.offer_id) == 0:
        await routes.close_offer(
            tx, offer.offer_id, OfferStatus.DECLINED, pending_answer=Answer.EXPIRED, now=now
        )
        await _publish_offer_closed(tx, route, offer.offer_id)
        await advance_route(tx, route, now, policies)


# --- the operator console: what it hears, and what operators do from it ----------------------


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


async def record_line_rerouted(tx: Tx, moved: OrderLineRerouted, at: datetime) -> None:
    """The lines went to another store: a new shipment placed there, for the same promise."""
    before = await console.progress_of(
        tx, order_id=moved.order_id, shipment_ids=[moved.from_shipment_id]
    )
    deliver_by = before[0].deliver_by if before else None
    await console.record_progress(
        tx,
        moved.to_shipment_id,
        order_id=moved.order_id,
        mall_id=moved.mall_id,
        now=at,
        store_id=moved.to_store_id,
        deliver_by=deliver_by,
        placed_at=at,
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
    await outbox.add(
        tx,
        ZoneCapacityChanged(
            mall_id=mall_id,
            same_day_enabled=signal.same_day_enabled,
            promise_delay_minutes=signal.promise_delay_minutes,
            reason=signal.reason,
        ),
        key=mall_id,
    )
    log.info(
        "same_day_paused" if is_paused else "same_day_resumed",
        extra={"mall_id": mall_id, "operator": operator},
    )
    return True


async def reoffer_with_boost(
    tx: Tx, route_id: UUID, boost_pct: int, now: datetime, policies: Policies
) -> RouteRecord:
    """Closes the route's open offer and offers it anew at a boosted pay, to drivers who have
    not seen that much for it. ActionRefused when it is no longer looking for a driver, or when
    no eligible driver is near."""
    route = await routes.get(tx, route_id, for_update=True)
    if route is None:
        raise ActionRefused("not_found", "No such route; check the id.")
    if route.status is not RouteStatus.OFFERING:
        raise ActionRefused(
            "route_not_on_offer",
            f"The route is {route.status.value}, not on offer; nothing to boost.",
        )
    offers = await routes.offers_of(tx, route_id)
    open_offers = [o for o in offers if o.status is OfferStatus.OPEN]
    for offer in open_offers:
        await routes.close_offer(
            tx, offer.offer_id, OfferStatus.WITHDRAWN, pending_answer=Answer.WITHDRAWN, now=now
        )
        await _publish_offer_closed(tx, route, offer.offer_id)
    offer_id = await _offer_next(tx, route, len(offers) + 1, now, policies, boost_pct=boost_pct)
    if offer_id is None:
        raise ActionRefused(
            "no_driver_to_ask",
            "No eligible driver near the mall has not already seen this pay; "
            "try a bigger boost or wait for drivers.",
        )
    return route
