"""The console's exceptions list, most urgent first: shipments at risk, late or unaccepted
routes, failed deliveries, slow stores, stale or off-route drivers, dead letters. Pure.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from uuid import UUID

from dispatch_service.domain.console.geometry import distance_to_path_m
from dispatch_service.domain.console.phases import (
    NOT_DEPARTED,
    UNTAKEN,
    Milestones,
    RouteOnBoard,
    RoutePhase,
    StopState,
    StoreInfo,
)
from dispatch_service.domain.offers import DriverState
from dispatch_service.domain.pool import PooledShipment, Timing, slack
from shared.events.dispatch import RouteStop, StopKind
from shared.geo import Point


class ExceptionKind(StrEnum):
    AT_RISK = "at_risk"
    UNACCEPTED_ROUTE = "unaccepted_route"
    FAILED_DELIVERY = "failed_delivery"
    SLOW_STORE = "slow_store"
    STALE_DRIVER = "stale_driver"
    OFF_ROUTE = "off_route"
    DEAD_LETTERS = "dead_letters"


class Severity(StrEnum):
    CRITICAL = "critical"
    WARNING = "warning"
    NOTICE = "notice"


_SEVERITY_RANK = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.NOTICE: 2}
_NEVER = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class ExceptionItem:
    """One thing an operator should look at. `due_at` is the moment that matters (a promise, a
    route's latest start); within a severity the soonest comes first."""

    id: str
    kind: ExceptionKind
    severity: Severity
    title: str
    detail: str
    due_at: datetime | None = None
    shipment_id: UUID | None = None
    order_id: UUID | None = None
    route_id: UUID | None = None
    driver_id: UUID | None = None
    store_id: str | None = None


@dataclass(frozen=True, slots=True)
class ExceptionPolicy:
    pool_slack: timedelta
    unaccepted_offers: int
    slow_pack_grace: timedelta
    position_fresh: timedelta
    off_route_m: float


def by_urgency(items: Iterable[ExceptionItem]) -> list[ExceptionItem]:
    return sorted(
        items, key=lambda i: (_SEVERITY_RANK[i.severity], i.due_at or _NEVER, i.kind, i.id)
    )


def _minutes(delta: timedelta) -> int:
    return math.floor(delta.total_seconds() / 60)


def at_risk_in_pool(
    pool: Sequence[PooledShipment],
    mall: Point,
    now: datetime,
    timing: Timing,
    policy: ExceptionPolicy,
) -> list[ExceptionItem]:
    """Shipments waiting for a route whose slack is under the policy's (30 minutes)."""
    found = []
    for shipment in pool:
        left = slack(shipment, mall, now, timing)
        if left >= policy.pool_slack and not shipment.is_flagged_at_risk:
            continue
        is_lost = left < timedelta(0) or shipment.is_flagged_at_risk
        found.append(
            ExceptionItem(
                id=f"{ExceptionKind.AT_RISK}:{shipment.shipment_id}",
                kind=ExceptionKind.AT_RISK,
                severity=Severity.CRITICAL if is_lost else Severity.WARNING,
                title="Promise at risk",
                detail=(
                    "Waiting for a route; no route can reach the customer in time"
                    if is_lost
                    else f"Waiting for a route with {_minutes(left)} min of slack"
                )
                + f" ({shipment.store_name} to {shipment.dropoff_area})",
                due_at=shipment.deliver_by,
                shipment_id=shipment.shipment_id,
                order_id=shipment.order_id,
                store_id=shipment.store_id,
            )
        )
    return found


def expected_arrival(route: RouteOnBoard, stop: RouteStop, now: datetime) -> datetime:
    """The plan's arrival, slipped by however late the driver leaves the mall."""
    if route.phase in NOT_DEPARTED and now > route.depart_at:
        return stop.eta + (now - route.depart_at)
    return stop.eta


def late_on_routes(routes: Sequence[RouteOnBoard], now: datetime) -> list[ExceptionItem]:
    """Drop-offs still to come whose expected arrival is after their promise."""
    found = []
    for route in routes:
        for stop, state in zip(route.stops, route.stop_states, strict=True):
            if stop.kind is not StopKind.DROPOFF or state is not StopState.PENDING:
                continue
            arrival = expected_arrival(route, stop, now)
            if arrival <= stop.deliver_by:
                continue
            found.append(
                ExceptionItem(
                    id=f"{ExceptionKind.AT_RISK}:{stop.shipment_id}",
                    kind=ExceptionKind.AT_RISK,
                    severity=Severity.CRITICAL,
                    title="Promise at risk",
                    detail=(
                        f"Planned arrival {_minutes(arrival - stop.deliver_by)} min after the"
                        f" promise ({stop.area}, route {route.phase.value.replace('_', ' ')})"
                    ),
                    due_at=stop.deliver_by,
                    shipment_id=stop.shipment_id,
                    order_id=stop.order_id,
                    route_id=route.route_id,
                    store_id=stop.store_id,
                )
            )
    return found


def unaccepted_routes(
    routes: Sequence[RouteOnBoard], now: datetime, policy: ExceptionPolicy
) -> list[ExceptionItem]:
    return [
        ExceptionItem(
            id=f"{ExceptionKind.UNACCEPTED_ROUTE}:{route.route_id}",
            kind=ExceptionKind.UNACCEPTED_ROUTE,
            severity=Severity.CRITICAL if now > route.latest_start_at else Severity.WARNING,
            title="Nobody accepted the route",
            detail=(
                f"{route.offer_rounds} offers, last at {route.pay_cents / 100:.2f};"
                f" {sum(1 for s in route.stops if s.kind is StopKind.DROPOFF)} drop-offs"
            ),
            due_at=route.latest_start_at,
            route_id=route.route_id,
        )
        for route in routes
        if route.phase in UNTAKEN and route.offer_rounds >= policy.unaccepted_offers
    ]


def failed_deliveries(shipments: Iterable[Milestones]) -> list[ExceptionItem]:
    """Failed drop-offs whose parcel is not back at its store yet: a return in progress."""
    return [
        ExceptionItem(
            id=f"{ExceptionKind.FAILED_DELIVERY}:{m.shipment_id}",
            kind=ExceptionKind.FAILED_DELIVERY,
            severity=Severity.CRITICAL,
            title="Delivery failed; return in progress",
            detail=f"Reason: {m.failure_reason or 'not given'}",
            due_at=m.failed_at,
            shipment_id=m.shipment_id,
            order_id=m.order_id,
            route_id=m.route_id,
            store_id=m.store_id,
        )
        for m in shipments
        if m.failed_at is not None and m.returned_at is None and m.delivered_at is None
    ]


def slow_stores(
    shipments: Iterable[Milestones],
    stores: Mapping[str, StoreInfo],
    now: datetime,
    policy: ExceptionPolicy,
) -> list[ExceptionItem]:
    """Stores with orders still unpacked past their usual packing time and a grace."""
    waiting: dict[str, list[Milestones]] = defaultdict(list)
    for m in shipments:
        if m.store_id is None or m.placed_at is None or m.ready_at is not None or m.is_cancelled:
            continue
        store = stores.get(m.store_id)
        prep = timedelta(minutes=store.prep_minutes if store else 30)
        if now - m.placed_at > prep + policy.slow_pack_grace:
            waiting[m.store_id].append(m)
    found = []
    for store_id, late in waiting.items():
        store = stores.get(store_id)
        oldest = min(m.placed_at for m in late if m.placed_at is not None)
        promises = [m.deliver_by for m in late if m.deliver_by is not None]
        found.append(
            ExceptionItem(
                id=f"{ExceptionKind.SLOW_STORE}:{store_id}",
                kind=ExceptionKind.SLOW_STORE,
                severity=Severity.WARNING,
                title="Store slow to pack",
                detail=(
                    f"{store.name if store else store_id}: {len(late)} order(s) unpacked, oldest"
                    f" {_minutes(now - oldest)} min (usually {store.prep_minutes if store else 30}"
                    " min)"
                ),
                due_at=min(promises, default=None),
                store_id=store_id,
            )
        )
    return found


def is_stale(driver: DriverState, now: datetime, fresh_for: timedelta) -> bool:
    return driver.position_at is None or now - driver.position_at > fresh_for


def stale_drivers(
    drivers: Iterable[DriverState], now: datetime, policy: ExceptionPolicy
) -> list[ExceptionItem]:
    return [
        ExceptionItem(
            id=f"{ExceptionKind.STALE_DRIVER}:{d.driver_id}",
            kind=ExceptionKind.STALE_DRIVER,
            # A silent driver carrying parcels matters more than an idle one.
            severity=Severity.WARNING if d.current_route_id else Severity.NOTICE,
            title="Driver not reporting",
            detail=(
                "Online, no position yet"
                if d.position_at is None
                else f"Online, last position {_minutes(now - d.position_at)} min ago"
            ),
            driver_id=d.driver_id,
            route_id=d.current_route_id,
        )
        for d in drivers
        if d.is_online and is_stale(d, now, policy.position_fresh)
    ]


def off_route_drivers(
    drivers: Iterable[DriverState],
    routes: Mapping[UUID, RouteOnBoard],
    mall: Point,
    now: datetime,
    policy: ExceptionPolicy,
) -> list[ExceptionItem]:
    found = []
    for d in drivers:
        route = routes.get(d.current_route_id) if d.current_route_id else None
        if route is None or d.position is None or is_stale(d, now, policy.position_fresh):
            continue
        if route.phase not in {RoutePhase.PICKING_UP, RoutePhase.ON_THE_ROAD, RoutePhase.RETURNING}:
            continue
        path = [mall, *(Point(s.location.lat, s.location.lng) for s in route.stops), mall]
        away = distance_to_path_m(d.position, path)
        if away <= policy.off_route_m:
            continue
        found.append(
            ExceptionItem(
                id=f"{ExceptionKind.OFF_ROUTE}:{d.driver_id}",
                kind=ExceptionKind.OFF_ROUTE,
                severity=Severity.WARNING,
                title="Driver off the route",
                detail=f"{away / 1000:.1f} km from the planned route",
                driver_id=d.driver_id,
                route_id=route.route_id,
            )
        )
    return found


@dataclass(frozen=True, slots=True)
class DeadLetterGroup:
    topic: str
    count: int
    last_at: datetime
    last_error: str


def dead_letter_items(groups: Iterable[DeadLetterGroup]) -> list[ExceptionItem]:
    return [
        ExceptionItem(
            id=f"{ExceptionKind.DEAD_LETTERS}:{g.topic}",
            kind=ExceptionKind.DEAD_LETTERS,
            severity=Severity.WARNING,
            title=f"Messages in {g.topic}",
            detail=f"{g.count} message(s) a consumer gave up on; last: {g.last_error[:200]}",
        )
        for g in groups
    ]
