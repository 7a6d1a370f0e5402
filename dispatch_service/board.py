"""The operator console's picture of one mall, loaded from dispatch's own tables.

A read use case: load in one transaction, then let domain/console.py decide phases, exceptions
and the day's figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from uuid import UUID
from zoneinfo import ZoneInfo

from dispatch_service.domain.console.day import (
    DaySummary,
    SameDayState,
    day_summary,
    same_day_state,
)
from dispatch_service.domain.console.exceptions import (
    ExceptionItem,
    ExceptionPolicy,
    at_risk_in_pool,
    by_urgency,
    dead_letter_items,
    failed_deliveries,
    is_stale,
    late_on_routes,
    off_route_drivers,
    slow_stores,
    stale_drivers,
    unaccepted_routes,
)
from dispatch_service.domain.console.geometry import mall_outline
from dispatch_service.domain.console.phases import (
    Milestones,
    RouteOnBoard,
    RoutePhase,
    StoreInfo,
    route_ended_at,
    route_phase,
    stop_state,
)
from dispatch_service.domain.offers import DriverState
from dispatch_service.domain.pool import PooledShipment
from dispatch_service.domain.route import Route
from dispatch_service.store import console, drivers, malls, routes, shipments
from dispatch_service.usecases import Policies
from shared.db import Db
from shared.geo import Point, haversine_m
from shared.malls import WEEKDAYS, Mall


@dataclass(frozen=True, slots=True)
class BoardRoute:
    route: Route
    view: RouteOnBoard


@dataclass(frozen=True, slots=True)
class Board:
    mall: Mall
    outline: list[Point]
    stores: list[StoreInfo]
    now: datetime
    same_day: SameDayState
    day: DaySummary
    # Waiting for a route, soonest promise first.
    pool: list[PooledShipment]
    # On the map: every route not withdrawn and not finished.
    routes: list[BoardRoute]
    drivers: list[DriverState]
    stale_driver_ids: frozenset[UUID]
    exceptions: list[ExceptionItem]


def day_start(mall: Mall, now: datetime) -> datetime:
    zone = ZoneInfo(mall.timezone)
    return datetime.combine(now.astimezone(zone).date(), time(0), zone)


async def load_board(
    db: Db, mall: Mall, now: datetime, policies: Policies, policy: ExceptionPolicy
) -> Board:
    since = day_start(mall, now)
    async with db.begin() as tx:
        stores = await console.stores_of(tx, mall.id)
        pool = await shipments.pooled(tx, mall.id)
        found = await routes.on_board(tx, mall.id, taken_since=since)
        progress = await console.progress_of_mall(tx, mall.id, since)
        online = await drivers.online(tx)
        state = await malls.console_state(tx, mall.id)
        dead_letters = await console.dead_letter_groups(tx, mall.id)

    by_shipment = {m.shipment_id: m for m in progress}
    board_routes = [r for r in (_on_board(route, by_shipment) for route in found) if r is not None]
    views = [r.view for r in board_routes]
    route_ids = {r.view.route_id for r in board_routes}
    reach = policies.surge.max_radius_m
    near = [
        d
        for d in online
        if d.current_route_id in route_ids
        or (d.position is not None and haversine_m(d.position, mall.point) <= reach)
    ]
    stale = frozenset(d.driver_id for d in near if is_stale(d, now, policy.position_fresh))
    timing = policies.planning.timing
    exceptions = by_urgency(
        [
            *at_risk_in_pool(pool, mall.point, now, timing, policy),
            *late_on_routes([v for v in views if v.phase is not RoutePhase.DONE], now),
            *unaccepted_routes(views, now, policy),
            *failed_deliveries(progress),
            *slow_stores(progress, {s.store_id: s for s in stores}, now, policy),
            *stale_drivers(near, now, policy),
            *off_route_drivers(near, {v.route_id: v for v in views}, mall.point, now, policy),
            *dead_letter_items(dead_letters),
        ]
    )
    local_now = now.astimezone(ZoneInfo(mall.timezone))
    return Board(
        mall=mall,
        outline=mall_outline(mall.point, [s.point for s in stores if s.is_active]),
        stores=stores,
        now=now,
        same_day=same_day_state(
            capacity=state.capacity,
            is_paused=state.is_paused,
            paused_by=state.paused_by,
            delay_minutes=policies.capacity.promise_delay_minutes,
            local_now=local_now,
            hours=mall.hours.get(WEEKDAYS[local_now.weekday()]),
        ),
        day=day_summary(
            progress,
            views,
            drivers_online=sum(1 for d in near if d.driver_id not in stale),
            day_start=since,
            now=now,
        ),
        pool=pool,
        routes=[r for r in board_routes if r.view.phase is not RoutePhase.DONE],
        drivers=near,
        stale_driver_ids=stale,
        exceptions=exceptions,
    )


def _on_board(route: Route, progress: dict[UUID, Milestones]) -> BoardRoute | None:
    # Once a driver took it, the driver service's copy is the route: its stops (returns and
    # added pickups too) and how far each got.
    follows_driver = route.revision > 0
    states = tuple(
        stop_state(
            stop,
            progress.get(stop.shipment_id),
            route.status_of(stop) if follows_driver else None,
        )
        for stop in route.stops
    )
    phase = route_phase(
        route.status,
        has_open_offer=route.open_offer is not None,
        stop_states=list(zip(route.stops, states, strict=True)),
    )
    if phase is None:
        return None
    offered = max((o.pay_cents for o in route.offers), default=route.base_pay_cents)
    return BoardRoute(
        route,
        RouteOnBoard(
            route_id=route.route_id,
            phase=phase,
            stops=route.stops,
            stop_states=states,
            depart_at=route.depart_at,
            latest_start_at=route.latest_start_at,
            driver_id=route.driver_id,
            offer_rounds=len(route.offers),
            pay_cents=route.pay_cents or offered,
            block_minutes=route.block_minutes,
            assigned_at=route.assigned_at,
            ended_at=route_ended_at(phase, route.stops, progress, route.completed_at),
        ),
    )
