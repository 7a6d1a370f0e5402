"""Random sequences of every step of dispatch routes and their offers: planning, offering,
expiry, withdrawal, accepts (late ones too), cancellations, the driver's copy, releases and
re-routed shipments joining; after each step a shipment is on at most one live route, a pooled
one on none, and no offer pays under the block's floor.

The harness moves shipments between the pool and routes as the use cases do.
"""

from __future__ import annotations

import copy
import math
import uuid
from datetime import UTC, datetime, timedelta
from uuid import UUID

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from dispatch_service.domain import pay
from dispatch_service.domain.offers import Answer, Candidate, OfferStatus
from dispatch_service.domain.planning import PlannedRoute, stop_id
from dispatch_service.domain.pool import PooledShipment, PoolStatus, Timing
from dispatch_service.domain.route import IllegalRouteStep, Route, RouteStatus
from shared.events.common import GeoPoint
from shared.events.dispatch import RouteReleased, RouteStop, StopKind
from shared.events.driver import RouteStopsChanged, RouteStopState, StopStatus
from shared.events.envelope import Payload
from shared.geo import Point, TravelModel

START = datetime(2026, 11, 25, 19, 0, tzinfo=UTC)
MALL = Point(36.127, -115.171)
TIMING = Timing(
    travel=TravelModel(),
    lead=timedelta(minutes=5),
    pickup_service=timedelta(minutes=2),
    delivery_service=timedelta(minutes=2),
)
POLICY = pay.PayPolicy(
    hourly_cents={
        pay.BlockType.SHORT: 2100,
        pay.BlockType.STANDARD: 2000,
        pay.BlockType.LONG: 1900,
    },
    per_stop_cents=150,
    per_mile_cents=60,
)


def a_shipment(index: int, now: datetime) -> PooledShipment:
    return PooledShipment(
        shipment_id=uuid.uuid4(),
        order_id=uuid.uuid4(),
        mall_id="mall-1",
        store_id=f"st-{index % 3}",
        store_name=f"Store {index % 3}",
        pickup_instructions="desk",
        pickup=Point(MALL.lat + 0.0005 * (index % 3), MALL.lng),
        package_count=1,
        labels=(f"L{index}",),
        ready_at=now,
        deliver_by=now + timedelta(hours=2),
        dropoff=Point(MALL.lat + 0.02 + 0.002 * index, MALL.lng),
        dropoff_address="1 Main St",
        dropoff_area="LV",
        pin_sha256=None,
    )


def stops_of(
    route_id: UUID, shipments: list[PooledShipment], now: datetime
) -> tuple[RouteStop, ...]:
    stops: list[RouteStop] = []
    for kind in (StopKind.PICKUP, StopKind.DROPOFF):
        for s in shipments:
            point = s.pickup if kind is StopKind.PICKUP else s.dropoff
            stops.append(
                RouteStop(
                    stop_id=stop_id(route_id, kind, s.shipment_id),
                    sequence=len(stops),
                    kind=kind,
                    shipment_id=s.shipment_id,
                    order_id=s.order_id,
                    store_id=s.store_id,
                    store_name=s.store_name,
                    location=GeoPoint(lat=point.lat, lng=point.lng),
                    address="x",
                    area="LV",
                    package_count=1,
                    eta=now + timedelta(minutes=10 * len(stops)),
                    deliver_by=s.deliver_by,
                )
            )
    return tuple(stops)


class DispatchRoutes(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = START
        self.shipments: dict[UUID, PooledShipment] = {}
        # shipment -> pooled | routed | cancelled, and the route of a routed one
        self.status: dict[UUID, PoolStatus] = {}
        self.route_of: dict[UUID, UUID] = {}
        self.routes: dict[UUID, Route] = {}
        self.reroutes: dict[UUID, UUID] = {}
        self.released: set[UUID] = set()
        # Routes the driver service gave a driver: it keeps them until dispatch releases them.
        self.awarded: set[UUID] = set()

    @initialize(count=st.integers(2, 5))
    def fill_the_pool(self, count: int) -> None:
        for index in range(count):
            self.pool_one(index)

    def pool_one(self, index: int) -> PooledShipment:
        shipment = a_shipment(index, self.now)
        self.shipments[shipment.shipment_id] = shipment
        self.status[shipment.shipment_id] = PoolStatus.POOLED
        return shipment

    def pooled(self) -> list[UUID]:
        return [s for s, status in self.status.items() if status is PoolStatus.POOLED]

    def route(self, index: int) -> Route | None:
        if not self.routes:
            return None
        return list(self.routes.values())[index % len(self.routes)]

    def apply(self, route: Route, act: object) -> list[Payload]:
        """One domain call; a refused one leaves the route as it was."""
        before = copy.deepcopy(route)
        try:
            events: list[Payload] = act()  # type: ignore[operator]
        except IllegalRouteStep:
            assert route == before
            return []
        for event in events:
            if isinstance(event, RouteReleased):
                self.released.add(event.route_id)
        return events

    def route_off_to_pool(self, route: Route) -> None:
        for sid in route.shipment_ids:
            if (
                self.status[sid] is PoolStatus.ROUTED
                and self.route_of.get(sid) == route.route_id
            ):
                self.status[sid] = PoolStatus.POOLED
                self.route_of.pop(sid)

    index = st.integers(0, 7)

    # --- rules --------------------------------------------------------------------------------

    @rule(size=st.integers(1, 3))
    def plan_a_route(self, size: int) -> None:
        chosen = self.pooled()[:size]
        if not chosen:
            return
        route_id = uuid.uuid4()
        stops = stops_of(route_id, [self.shipments[s] for s in chosen], self.now)
        planned = PlannedRoute(
            route_id=route_id,
            stops=stops,
            depart_at=self.now + timedelta(minutes=5),
            latest_start_at=self.now + timedelta(minutes=60),
            planned_miles=4.0,
            planned_minutes=10 * len(stops),
            max_load=len(chosen),
        )
        quote = pay.quote(
            POLICY, planned_minutes=planned.planned_minutes, stop_count=len(stops), miles=4.0
        )
        route, _ = Route.plan(
            planned, mall_id="mall-1", mall_name="Mall", quote=quote, currency="USD", now=self.now
        )
        self.routes[route_id] = route
        for sid in chosen:
            self.status[sid], self.route_of[sid] = PoolStatus.ROUTED, route_id

    @rule(i=index, surge=st.integers(-500, 500))
    def offer(self, i: int, surge: int) -> None:
        route = self.route(i)
        if route is None:
            return
        self.now += timedelta(seconds=30)
        self.apply(
            route,
            lambda: route.offer_to(
                offer_id=uuid.uuid4(),
                round_number=len(route.offers) + 1,
                pay_cents=max(1, route.base_pay_cents + surge),
                surge_level=0,
                radius_m=5000,
                candidates=[Candidate(uuid.uuid4(), 100.0)],
                pickup_area="LV",
                now=self.now,
                expires_at=self.now + timedelta(seconds=60),
            ),
        )

    @rule(i=index)
    def offer_expires(self, i: int) -> None:
        route = self.route(i)
        if route is not None and route.open_offer is not None:
            offer = route.open_offer
            self.apply(
                route,
                lambda: route.close_offer(
                    offer.offer_id, OfferStatus.EXPIRED, Answer.EXPIRED, now=self.now
                ),
            )

    @rule(i=index)
    def nobody_took_it(self, i: int) -> None:
        route = self.route(i)
        if route is None:
            return
        self.apply(route, lambda: route.withdraw("no taker", now=self.now))
        if route.status is RouteStatus.WITHDRAWN:
            self.route_off_to_pool(route)

    @rule(i=index, which=st.integers(0, 3))
    def driver_accepts(self, i: int, which: int) -> None:
        """Any offer ever made, open or not: the driver service may have let it be taken just
        before dispatch closed it."""
        route = self.route(i)
        if route is None or not route.offers or route.route_id in self.awarded:
            return
        offer = route.offers[which % len(route.offers)]
        self.awarded.add(route.route_id)
        reclaimable = {s for s in route.shipment_ids if self.status[s] is PoolStatus.POOLED}
        was = route.status
        self.apply(
            route,
            lambda: route.accept(
                offer.offer_id, uuid.uuid4(), offer.pay_cents, at=self.now, reclaimable=reclaimable
            ),
        )
        if was is RouteStatus.WITHDRAWN and route.status is RouteStatus.ASSIGNED:
            for sid in route.shipment_ids:
                self.status[sid], self.route_of[sid] = PoolStatus.ROUTED, route.route_id

    @rule(picks=st.sets(st.integers(0, 7), min_size=1, max_size=2))
    def orders_cancelled(self, picks: set[int]) -> None:
        known = sorted(self.status, key=str)
        chosen = {known[p % len(known)] for p in picks}
        for sid in chosen:
            self.status[sid] = PoolStatus.CANCELLED
            self.route_of.pop(sid, None)
            self.reroutes.pop(sid, None)
        for route in self.routes.values():
            self.apply(route, lambda route=route: route.drop_shipments(chosen, now=self.now))
            if route.status is RouteStatus.WITHDRAWN:
                self.route_off_to_pool(route)

    @rule(i=index, done=st.sets(st.integers(0, 9), max_size=4), completed=st.booleans())
    def driver_reports(self, i: int, done: set[int], completed: bool) -> None:
        """The driver service's copy: some stops advanced or cancelled."""
        route = self.route(i)
        if route is None or route.status is not RouteStatus.ASSIGNED:
            return
        statuses = {}
        for n, stop in enumerate(route.stops):
            current = route.status_of(stop)
            if n in done and current is StopStatus.PENDING:
                current = (
                    StopStatus.CANCELLED
                    if self.status[stop.shipment_id] is PoolStatus.CANCELLED
                    else StopStatus.PICKED_UP
                    if stop.kind is StopKind.PICKUP
                    else StopStatus.DELIVERED
                )
            statuses[stop.stop_id] = current
        is_completed = completed and all(s is not StopStatus.PENDING for s in statuses.values())
        changed = RouteStopsChanged(
            route_id=route.route_id,
            mall_id=route.mall_id,
            driver_id=route.driver_id or uuid.uuid4(),
            revision=route.revision + 1,
            stops=[
                RouteStopState(**s.model_dump(), status=statuses[s.stop_id]) for s in route.stops
            ],
            is_completed=is_completed,
            at=self.now,
        )
        route.follow_driver(changed)

    @rule(i=index)
    def dispatch_releases_an_idle_route(self, i: int) -> None:
        route = self.route(i)
        if route is not None and route.route_id not in self.reroutes.values():
            self.apply(route, lambda: route.release("nothing left", now=self.now))

    @rule(i=index, j=index)
    def a_rerouted_line_is_packed(self, i: int, j: int) -> None:
        """A store rejected a shipment of an accepted route; its replacement is packed now."""
        route = self.route(i)
        if route is None or route.status is not RouteStatus.ASSIGNED:
            return
        replacement = self.pool_one(len(self.shipments) + j)
        self.reroutes[replacement.shipment_id] = route.route_id
        events = self.apply(
            route, lambda: route.add_shipment(replacement, MALL, TIMING, now=self.now)
        )
        self.reroutes.pop(replacement.shipment_id)
        if events:
            self.status[replacement.shipment_id] = PoolStatus.ROUTED
            self.route_of[replacement.shipment_id] = route.route_id

    # --- invariants ---------------------------------------------------------------------------

    @invariant()
    def a_shipment_is_on_at_most_one_live_route(self) -> None:
        on: dict[UUID, list[UUID]] = {}
        for route in self.routes.values():
            held_by_a_driver = (
                route.route_id in self.awarded
                and route.route_id not in self.released
                and route.status is not RouteStatus.COMPLETED
            )
            if not (route.is_live or held_by_a_driver):
                continue
            carried = (
                {
                    sid
                    for sid in route.shipment_ids
                    if self.status[sid] is not PoolStatus.CANCELLED
                }
                if route.status is not RouteStatus.ASSIGNED
                else {
                    s.shipment_id
                    for s in route.stops
                    if route.status_of(s) is not StopStatus.CANCELLED
                }
            )
            for sid in carried:
                on.setdefault(sid, []).append(route.route_id)
        for sid, route_ids in on.items():
            assert len(route_ids) == 1, (sid, route_ids)
            if self.status[sid] is not PoolStatus.CANCELLED:
                # What dispatch's pool says agrees with the routes.
                assert self.status[sid] is PoolStatus.ROUTED
                assert self.route_of[sid] == route_ids[0]
        for sid in self.pooled():
            assert sid not in on

    @invariant()
    def no_offer_pays_under_the_floor(self) -> None:
        for route in self.routes.values():
            floor = math.ceil(route.hourly_floor_cents * route.block_minutes / 60)
            assert route.base_pay_cents >= floor
            for offer in route.offers:
                assert offer.pay_cents >= route.base_pay_cents
            assert sum(o.status is OfferStatus.OPEN for o in route.offers) <= 1
            if route.status is RouteStatus.ASSIGNED:
                assert route.pay_cents is not None and route.pay_cents >= route.base_pay_cents


DispatchRoutes.TestCase.settings = settings(max_examples=200, stateful_step_count=30, deadline=None)
TestDispatchRoutes = DispatchRoutes.TestCase
