"""What the operator console shows of a mall: route phases, exceptions most urgent first, the
day's figures and the same-day state. Pure: the caller loads the rows and passes `now`.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from uuid import UUID

from dispatch_service.domain.capacity import CapacityStatus
from dispatch_service.domain.offers import DriverState
from dispatch_service.domain.pool import PooledShipment, Timing, slack
from dispatch_service.domain.route import RouteStatus
from shared.events.dispatch import RouteStop, StopKind
from shared.events.driver import StopStatus
from shared.geo import Point, haversine_m

METERS_PER_DEGREE = 111_320.0


class RoutePhase(StrEnum):
    PLANNED = "planned"
    OFFERED = "offered"
    ACCEPTED = "accepted"
    PICKING_UP = "picking_up"
    ON_THE_ROAD = "on_the_road"
    RETURNING = "returning"
    DONE = "done"


# Before these the driver has not left the mall: the plan's times slip with every minute.
NOT_DEPARTED = frozenset({RoutePhase.PLANNED, RoutePhase.OFFERED, RoutePhase.ACCEPTED})
UNTAKEN = frozenset({RoutePhase.PLANNED, RoutePhase.OFFERED})


class StopState(StrEnum):
    PENDING = "pending"
    PICKED_UP = "picked_up"
    DELIVERED = "delivered"
    FAILED = "failed"
    RETURNED = "returned"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Milestones:
    """What became of one shipment after checkout, as far as dispatch has heard."""

    shipment_id: UUID
    order_id: UUID
    store_id: str | None = None
    deliver_by: datetime | None = None
    placed_at: datetime | None = None
    accepted_at: datetime | None = None
    ready_at: datetime | None = None
    picked_up_at: datetime | None = None
    delivered_at: datetime | None = None
    failed_at: datetime | None = None
    failure_reason: str | None = None
    returned_at: datetime | None = None
    cancelled_at: datetime | None = None
    route_id: UUID | None = None

    @property
    def is_cancelled(self) -> bool:
        # A cancellation after pickup cannot take the parcel out of the car: it still travels.
        return self.cancelled_at is not None and self.picked_up_at is None

    @property
    def first_seen_at(self) -> datetime | None:
        return self.placed_at or self.accepted_at or self.ready_at


@dataclass(frozen=True, slots=True)
class StoreInfo:
    store_id: str
    name: str
    point: Point
    prep_minutes: int
    is_active: bool = True


@dataclass(frozen=True, slots=True)
class RouteOnBoard:
    """A route as the console draws it: its plan, how far it got, and its offers."""

    route_id: UUID
    phase: RoutePhase
    stops: tuple[RouteStop, ...]
    stop_states: tuple[StopState, ...]
    depart_at: datetime
    latest_start_at: datetime
    driver_id: UUID | None
    offer_rounds: int
    pay_cents: int
    # The paid block: how long the route is expected to take the driver.
    block_minutes: int
    assigned_at: datetime | None
    ended_at: datetime | None


def stop_state(
    stop: RouteStop, shipment: Milestones | None, reported: StopStatus | None = None
) -> StopState:
    """`reported`: the driver service's own status of the stop, once a driver took the route
    (dispatch follows its copy); before that, what dispatch heard of the shipment."""
    if reported is not None:
        return StopState(reported.value)
    if shipment is None:
        return StopState.PENDING
    if shipment.is_cancelled:
        return StopState.CANCELLED
    if stop.kind is StopKind.PICKUP:
        return StopState.PICKED_UP if shipment.picked_up_at is not None else StopState.PENDING
    if stop.kind is StopKind.RETURN:
        return StopState.RETURNED if shipment.returned_at is not None else StopState.PENDING
    if shipment.delivered_at is not None:
        return StopState.DELIVERED
    if shipment.returned_at is not None:
        return StopState.RETURNED
    if shipment.failed_at is not None:
        return StopState.FAILED
    return StopState.PENDING


def route_phase(
    status: RouteStatus,
    *,
    has_open_offer: bool,
    stop_states: Sequence[tuple[RouteStop, StopState]],
) -> RoutePhase | None:
    """The phase of a route of dispatch's status `status`; None for a route off the board
    (withdrawn: its shipments are back in the pool)."""
    if status is RouteStatus.OFFERING:
        return RoutePhase.OFFERED if has_open_offer else RoutePhase.PLANNED
    if status is RouteStatus.COMPLETED:
        return RoutePhase.DONE
    if status is not RouteStatus.ASSIGNED:
        return None
    live = [(stop, state) for stop, state in stop_states if state is not StopState.CANCELLED]
    pickups = [state for stop, state in live if stop.kind is StopKind.PICKUP]
    dropoffs = [state for stop, state in live if stop.kind is StopKind.DROPOFF]
    returns = [state for stop, state in live if stop.kind is StopKind.RETURN]
    if pickups and all(state is StopState.PENDING for state in pickups):
        return RoutePhase.ACCEPTED
    if StopState.PENDING in pickups:
        return RoutePhase.PICKING_UP
    if StopState.PENDING in dropoffs:
        return RoutePhase.ON_THE_ROAD
    # The driver's copy adds a return stop for a failed or cancelled drop-off; before that copy
    # arrives, a failed drop-off not yet back at its store is the return.
    if StopState.PENDING in returns or (not returns and StopState.FAILED in dropoffs):
        return RoutePhase.RETURNING
    return RoutePhase.DONE


def route_ended_at(
    phase: RoutePhase,
    stops: Sequence[RouteStop],
    shipments: Mapping[UUID, Milestones],
    completed_at: datetime | None = None,
) -> datetime | None:
    """`completed_at`: when the driver service finished the route, once it says so."""
    if phase is not RoutePhase.DONE:
        return None
    if completed_at is not None:
        return completed_at
    moments = [
        moment
        for stop in stops
        if (m := shipments.get(stop.shipment_id)) is not None
        for moment in (m.delivered_at, m.returned_at, m.failed_at, m.picked_up_at)
        if moment is not None
    ]
    return max(moments, default=None)


# --- exceptions --------------------------------------------------------------------------------


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


# --- the day so far ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DaySummary:
    orders: int
    delivered: int
    on_time_pct: float | None
    median_minutes_to_door: float | None
    drivers_online: int
    driver_hours: float
    orders_per_driver_hour: float | None
    pay_cents: int
    pay_per_hour_cents: int | None


def day_summary(
    shipments: Iterable[Milestones],
    routes: Iterable[RouteOnBoard],
    *,
    drivers_online: int,
    day_start: datetime,
    now: datetime,
) -> DaySummary:
    """Orders first seen since `day_start`. Driver hours are the hours of this mall's accepted
    routes: a finished one from accepting it to its last stop, one under way as long as its
    paid block (or longer, when it already took longer); pay is what those routes pay."""
    orders: dict[UUID, list[Milestones]] = defaultdict(list)
    for m in shipments:
        orders[m.order_id].append(m)
    placed = delivered = on_time = 0
    to_door: list[float] = []
    for parts in orders.values():
        first = min((m.first_seen_at for m in parts if m.first_seen_at), default=None)
        if first is None or first < day_start:
            continue
        placed += 1
        live = [m for m in parts if not m.is_cancelled]
        if not live or any(m.delivered_at is None for m in live):
            continue
        delivered += 1
        done_at = max(m.delivered_at for m in live if m.delivered_at is not None)
        promises = [m.deliver_by for m in live if m.deliver_by is not None]
        if promises and done_at <= min(promises):
            on_time += 1
        to_door.append((done_at - first).total_seconds() / 60)
    hours = 0.0
    pay_cents = 0
    for route in routes:
        if route.assigned_at is None:
            continue
        start = max(route.assigned_at, day_start)
        if route.ended_at is not None:
            end = min(route.ended_at, now)
        else:
            end = max(now, route.assigned_at + timedelta(minutes=route.block_minutes))
        if end <= start:
            continue
        hours += (end - start).total_seconds() / 3600
        pay_cents += route.pay_cents
    return DaySummary(
        orders=placed,
        delivered=delivered,
        on_time_pct=round(100 * on_time / delivered, 1) if delivered else None,
        median_minutes_to_door=round(statistics.median(to_door), 1) if to_door else None,
        drivers_online=drivers_online,
        driver_hours=round(hours, 2),
        orders_per_driver_hour=round(delivered / hours, 2) if hours > 0 else None,
        pay_cents=pay_cents,
        pay_per_hour_cents=round(pay_cents / hours) if hours > 0 else None,
    )


class SameDayStatus(StrEnum):
    OPEN = "open"
    DELAYED = "delayed"
    PAUSED = "paused"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class SameDayState:
    status: SameDayStatus
    delay_minutes: int
    reason: str
    is_paused_by_operator: bool


def same_day_state(
    *,
    capacity: CapacityStatus,
    is_paused: bool,
    paused_by: str | None,
    delay_minutes: int,
    local_now: datetime,
    hours: tuple[time, time] | None,
) -> SameDayState:
    if is_paused:
        return SameDayState(
            SameDayStatus.PAUSED, 0, f"paused by {paused_by or 'an operator'}", True
        )
    if capacity is CapacityStatus.DISABLED:
        return SameDayState(SameDayStatus.PAUSED, 0, "no drivers available near the mall", False)
    if hours is None or not hours[0] <= local_now.time() < hours[1]:
        return SameDayState(SameDayStatus.CLOSED, 0, "outside the mall's opening hours", False)
    if capacity is CapacityStatus.DELAYED:
        return SameDayState(
            SameDayStatus.DELAYED, delay_minutes, "ready orders are waiting for drivers", False
        )
    return SameDayState(SameDayStatus.OPEN, 0, "taking same-day orders", False)


# --- geometry ----------------------------------------------------------------------------------


def _to_plane(origin: Point, point: Point) -> tuple[float, float]:
    """Metres east and north of `origin`: exact enough across a mall's delivery area."""
    east = (point.lng - origin.lng) * METERS_PER_DEGREE * math.cos(math.radians(origin.lat))
    return east, (point.lat - origin.lat) * METERS_PER_DEGREE


def _from_plane(origin: Point, east: float, north: float) -> Point:
    return Point(
        round(origin.lat + north / METERS_PER_DEGREE, 6),
        round(origin.lng + east / (METERS_PER_DEGREE * math.cos(math.radians(origin.lat))), 6),
    )


def _hull(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Convex hull, counter-clockwise (Andrew's monotone chain)."""
    ordered = sorted(set(points))
    if len(ordered) < 3:
        return ordered

    def cross(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list[tuple[float, float]] = []
    upper: list[tuple[float, float]] = []
    for p in ordered:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    for p in reversed(ordered):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]


def mall_outline(mall: Point, stores: Sequence[Point], pad_m: float = 80.0) -> list[Point]:
    """The mall's footprint as the console draws it: the hull of its centre and stores, padded
    all round. The pilot data has no building outlines; the stores' own positions do."""
    corners = 12
    around = [
        (
            x + pad_m * math.cos(2 * math.pi * k / corners),
            y + pad_m * math.sin(2 * math.pi * k / corners),
        )
        for x, y in (_to_plane(mall, p) for p in [mall, *stores])
        for k in range(corners)
    ]
    return [_from_plane(mall, east, north) for east, north in _hull(around)]


def distance_to_path_m(point: Point, path: Sequence[Point]) -> float:
    if len(path) == 1:
        return haversine_m(point, path[0])
    best = math.inf
    flat = [_to_plane(point, p) for p in path]
    for (ax, ay), (bx, by) in itertools.pairwise(flat):
        dx, dy = bx - ax, by - ay
        length2 = dx * dx + dy * dy
        t = 0.0 if length2 == 0 else max(0.0, min(1.0, -(ax * dx + ay * dy) / length2))
        best = min(best, math.hypot(ax + t * dx, ay + t * dy))
    return best
