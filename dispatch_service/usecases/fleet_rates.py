"""Telling the order service how many orders an hour each mall's fleet delivers."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from dispatch_service.domain import capacity, fleet_rate
from dispatch_service.domain.offers import is_serving_near
from dispatch_service.domain.route import Route
from dispatch_service.store import drivers, malls, routes
from dispatch_service.usecases.base import Policies
from shared import outbox
from shared.db import Db
from shared.events.dispatch import StopKind, ZoneCapacityChanged
from shared.events.driver import StopStatus
from shared.geo import Point
from shared.malls import pilot_malls

log = logging.getLogger(__name__)


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
