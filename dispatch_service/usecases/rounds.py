"""Batching rounds: plan a mall's pooled shipments into routes and flag promises at risk."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from dispatch_service.domain import capacity, pay
from dispatch_service.domain.offers import DriverState, eligible_distance_m, is_serving_near
from dispatch_service.domain.planning import Plan, PlannedRoute, plan_routes
from dispatch_service.domain.pool import (
    PooledShipment,
    PoolStatus,
    is_plannable,
    is_promise_at_risk,
    is_round_due,
)
from dispatch_service.domain.route import Route
from dispatch_service.store import drivers, malls, routes, shipments
from dispatch_service.usecases.base import (
    CURRENCY,
    Policies,
    mall_point,
    save_with_events,
    tell_capacity,
)
from dispatch_service.usecases.fleet_rates import tell_fleet_rates
from dispatch_service.usecases.offers import offer_next
from shared import outbox
from shared.db import Db, Tx
from shared.events.dispatch import OrderPromiseAtRisk
from shared.geo import Point

log = logging.getLogger(__name__)


@dataclass
class RoundReport:
    mall_id: str
    planned: list[UUID] = field(default_factory=list)
    dropped: int = 0
    flagged_at_risk: list[UUID] = field(default_factory=list)


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
        still_pooled = {sid for sid, (status, _) in current.items() if status == PoolStatus.POOLED}
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
            await tell_capacity(tx, mall_id, signal)
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
    events += await offer_next(tx, route, 1, now, policies)
    await save_with_events(tx, route, events, now)


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
