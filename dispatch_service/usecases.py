"""Dispatch's use cases: load, decide with domain/, save and add events in one transaction."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from dispatch_service import metrics
from dispatch_service.domain import capacity, fleet_rate, pay, surge
from dispatch_service.domain.offers import (
    Answer,
    DriverState,
    OfferStatus,
    eligible_distance_m,
    is_serving_near,
    rank_drivers,
)
from dispatch_service.domain.planning import Plan, PlannedRoute, PlanningPolicy, plan_routes
from dispatch_service.domain.pool import (
    PooledShipment,
    ShipmentStatus,
    Timing,
    is_plannable,
    is_promise_at_risk,
    is_round_due,
)
from dispatch_service.domain.route import IllegalRouteStep, Route, RouteStatus
from dispatch_service.settings import DispatchSettings
from dispatch_service.store import console, drivers, malls, routes, shipments
from shared import outbox, tracing
from shared.db import Db, Tx
from shared.events.catalog import StoreUpserted
from shared.events.dispatch import (
    OrderPromiseAtRisk,
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
    RouteStopsChanged,
    RouteStopsRefused,
    StopStatus,
)
from shared.events.envelope import Payload
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
    window_planning: timedelta
    orders_per_driver_hour: float
    rate_lookback: timedelta
    rate_prior_hours: float
    rate_max_gap: timedelta
    rate_position_fresh: timedelta

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
            window_planning=timedelta(minutes=settings.window_planning_minutes),
            orders_per_driver_hour=settings.orders_per_driver_hour,
            rate_lookback=timedelta(minutes=settings.fleet_rate_lookback_minutes),
            rate_prior_hours=settings.fleet_rate_prior_hours,
            rate_max_gap=timedelta(minutes=settings.fleet_rate_max_gap_minutes),
            rate_position_fresh=timedelta(
                minutes=max(
                    settings.fleet_rate_position_fresh_minutes,
                    settings.position_fresh_seconds / 60,
                )
            ),
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


async def _save(tx: Tx, route: Route, events: list[Payload], now: datetime) -> None:
    await routes.save(tx, route, now)
    # With tracing on, a route's events go on in its orders' traces (their checkouts').
    orders_traces = (
        await shipments.trace_contexts_of_route(tx, route.route_id)
        if events and tracing.enabled()
        else []
    )
    with tracing.continuing("route step", orders_traces):
        for event in events:
            await outbox.add(tx, event, key=route.mall_id)


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
    elif not await _is_waiting(tx, route):
        events = route.release("the re-routed order goes on another route", now=now)
    await _save(tx, route, events, now)


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
    if route_id is None or status != ShipmentStatus.ROUTED:
        # Re-routed again before it was packed: the link moves on with the lines.
        route_id = await routes.rerouted_to(tx, rerouted.from_shipment_id)
        if route_id is not None:
            await routes.unlink_reroutes(tx, [rerouted.from_shipment_id])
    if route_id is None:
        return
    route = await routes.get(tx, route_id)
    if route is not None and route.status is RouteStatus.ASSIGNED:
        await routes.link_reroute(tx, rerouted.to_shipment_id, route_id, now)


async def cancel_shipments(tx: Tx, cancelled: OrderCancelled, now: datetime) -> None:
    """Out of the pool, or off a route still on offer (which stays on offer with the rest: a
    driver may be accepting it right now). An accepted route is the driver service's to
    change; its copy comes back as route.stops_changed."""
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
        if route is not None:
            events = route.drop_shipments(set(to_cancel), now=now)
            if route.status is RouteStatus.WITHDRAWN:
                await shipments.return_route_to_pool(tx, route.route_id, now)
            await _save(tx, route, events, now)
    # Re-routed lines that will never be packed: their accepted route may have nothing left.
    for route_id in await routes.unlink_reroutes(tx, list(cancelled.shipment_ids)):
        await _release_if_idle(tx, route_id, now)
    log.info(
        "shipments_cancelled",
        extra={"order_id": str(cancelled.order_id), "shipments": len(to_cancel)},
    )


async def _is_waiting(tx: Tx, route: Route) -> bool:
    """A re-routed shipment may still join the route, or joined it and the driver service's
    copy does not show it yet."""
    if await routes.has_reroutes(tx, route.route_id):
        return True
    return bool(set(await shipments.routed_to(tx, route.route_id)) - route.shipment_ids)


async def _release_if_idle(tx: Tx, route_id: UUID, now: datetime) -> None:
    route = await routes.get(tx, route_id, for_update=True)
    if route is None or await _is_waiting(tx, route):
        return
    events = route.release("every order on it was cancelled", now=now)
    if events:
        await _save(tx, route, events, now)


async def follow_driver(tx: Tx, changed: RouteStopsChanged, now: datetime) -> None:
    """The driver service's copy of an accepted route; a route left with nothing to do and no
    re-routed shipment to wait for is released."""
    route = await routes.get(tx, changed.route_id, for_update=True)
    if route is None or not route.follow_driver(changed):
        return
    events: list[Payload] = []
    if not await _is_waiting(tx, route):
        events = route.release("every order on it was cancelled", now=now)
    await _save(tx, route, events, now)


async def take_back_refused(tx: Tx, refused: RouteStopsRefused, now: datetime) -> None:
    """Stops added to a route that had ended: their shipments wait for the next round."""
    await shipments.return_to_pool(tx, refused.shipment_ids, now)
    log.info("added_stops_refused", extra={"route_id": str(refused.route_id)})


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


async def tell_fleet_rates(db: Db, now: datetime, policies: Policies) -> list[str]:
    """Each pilot mall's fleet rate (drivers serving it times what one delivers an hour), told
    to the catalog and the order service when it changed; returns the malls told."""
    told = []
    async with db.begin() as tx:
        online = await drivers.online(tx)
    for mall in pilot_malls():
        serving = sum(
            is_serving_near(
                d,
                mall.point,
                now=now,
                radius_m=policies.surge.max_radius_m,
                fresh_for=policies.rate_position_fresh,
            )
            for d in online
        )
        async with db.begin() as tx:
            driven = await routes.completed_since(tx, mall.id, now - policies.rate_lookback)
        per_driver = fleet_rate.orders_per_driver_hour(
            [_rate_route(r, mall.point, policies) for r in driven],
            prior=policies.orders_per_driver_hour,
            prior_hours=policies.rate_prior_hours,
            max_gap=policies.rate_max_gap,
        )
        # A tenth of an order an hour: finer would re-tell the rate after every route.
        rate = round(serving * per_driver, 1)
        async with db.begin() as tx:
            _, state = await malls.state_for_update(tx, mall.id)
            if await malls.orders_per_hour(tx, mall.id) == rate:
                continue
            await malls.save_orders_per_hour(tx, mall.id, rate)
            signal = capacity.signal_for(state.status, policies.capacity)
            await outbox.add(
                tx,
                ZoneCapacityChanged(
                    mall_id=mall.id,
                    same_day_enabled=signal.same_day_enabled,
                    promise_delay_minutes=signal.promise_delay_minutes,
                    reason=f"{serving} drivers serve the mall",
                    orders_per_hour=rate,
                ),
                key=mall.id,
            )
        told.append(mall.id)
        log.info(
            "fleet_rate_told",
            extra={
                "mall_id": mall.id,
                "orders_per_hour": rate,
                "per_driver": round(per_driver, 2),
                "routes_measured": len(driven),
            },
        )
    return told


def _rate_route(route: Route, mall: Point, policies: Policies) -> fleet_rate.RateRoute:
    """A completed route as the fleet's rate counts it: the orders it took to the door and
    the drive from its last stop back to the mall."""
    assert route.assigned_at is not None and route.completed_at is not None
    delivered = {
        stop.order_id
        for stop in route.stops
        if stop.kind is StopKind.DROPOFF
        and route.progress.get(stop.stop_id) is StopStatus.DELIVERED
    }
    last = route.stops[-1].location if route.stops else None
    back = (
        0.0
        if last is None
        else policies.planning.timing.travel.travel_seconds(Point(last.lat, last.lng), mall)
    )
    return fleet_rate.RateRoute(
        driver_id=str(route.driver_id),
        accepted_at=route.assigned_at,
        completed_at=route.completed_at,
        orders=len(delivered),
        drive_back=timedelta(seconds=back),
    )


async def run_due_rounds(db: Db, now: datetime, policies: Policies) -> list[RoundReport]:
    """What the batching timer calls: a round for every mall whose round is due."""
    await tell_fleet_rates(db, now, policies)
    async with db.begin() as tx:
        mall_ids = sorted(
            set(await shipments.malls_with_pool(tx)) | set(await malls.not_normal(tx))
        )
    reports = []
    for mall_id in mall_ids:
        async with db.begin() as tx:
            pool = _plannable(await shipments.pooled(tx, mall_id), now, policies)
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


def _plannable(
    pool: list[PooledShipment], now: datetime, policies: Policies
) -> list[PooledShipment]:
    return [s for s in pool if is_plannable(s, now, policies.window_planning)]


async def plan_mall(db: Db, mall_id: str, now: datetime, policies: Policies) -> RoundReport:
    """One batching round: solve outside any transaction, then save what is still pooled.
    Shipments whose delivery window opens later stay in the pool, unplanned, until it nears."""
    async with db.begin() as tx:
        pool = _plannable(await shipments.pooled(tx, mall_id), now, policies)
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
            await _tell_capacity(tx, mall_id, signal)
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
    route, events = Route.plan(
        planned, mall_id=mall_id, mall_name=mall_name, quote=quote, currency=CURRENCY, now=now
    )
    await routes.insert(tx, route, now)
    await shipments.mark_routed(tx, planned.shipment_ids, planned.route_id, now)
    events += await _offer_next(tx, route, 1, now, policies)
    await _save(tx, route, events, now)


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
                await _save(tx, route, await advance_route(tx, route, now, policies), now)


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
    return events + await _offer_next(tx, route, len(route.offers) + 1, now, policies)


async def _offer_next(
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


async def accept_offer(tx: Tx, accepted: OfferAccepted, now: datetime) -> None:
    """The driver service decided who won; dispatch follows. A route withdrawn before the
    accept arrived is taken back if its shipments still wait in the pool, else released."""
    route = await routes.get(tx, accepted.route_id, for_update=True)
    if route is None or route.offer(accepted.offer_id) is None:
        log.warning("offer_accept_unknown", extra={"offer_id": str(accepted.offer_id)})
        return
    reclaimable: set[UUID] = set()
    if route.status is RouteStatus.WITHDRAWN:
        current = await shipments.statuses_for_update(tx, list(route.shipment_ids))
        reclaimable = {
            sid for sid, (status, _) in current.items() if status == ShipmentStatus.POOLED
        }
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
    await _save(tx, route, events, now)
    log.info(
        "route_assigned" if route.status is RouteStatus.ASSIGNED else "late_accept_released",
        extra={"route_id": str(route.route_id), "driver_id": str(accepted.driver_id)},
    )


async def decline_offer(tx: Tx, declined: OfferDeclined, now: datetime, policies: Policies) -> None:
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
        await _save(tx, route, events, now)


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
    await _tell_capacity(tx, mall_id, signal)
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
    events += await _offer_next(
        tx, route, len(route.offers) + 1, now, policies, boost_pct=boost_pct
    )
    if route.open_offer is None:
        raise ActionRefused(
            "no_driver_to_ask",
            "No eligible driver near the mall has not already seen this pay; "
            "try a bigger boost or wait for drivers.",
        )
    await _save(tx, route, events, now)
    return route


async def _tell_capacity(tx: Tx, mall_id: str, signal: capacity.CapacitySignal) -> None:
    """The catalog learns what the mall may promise from this event, in the same transaction."""
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
