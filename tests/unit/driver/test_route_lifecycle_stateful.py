"""Random sequences of every step on a driver's accepted route, from the driver app, the order
service, dispatch and the customer (tips), racing ones included; after each step: every
shipment's goods with exactly one party, a refused step changes nothing, pay never under the
floor."""

from __future__ import annotations

import copy
import hashlib
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import UUID

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from driver_service.domain.errors import DomainError
from driver_service.domain.offer import OfferTerms
from driver_service.domain.route import Route
from shared.events.common import GeoPoint
from shared.events.dispatch import RouteStop, StopKind
from shared.events.driver import RouteStopsChanged, StopStatus
from shared.events.envelope import Payload
from shared.geo import Point

START = datetime(2026, 11, 25, 19, 0, tzinfo=UTC)
STORE = GeoPoint(lat=36.127, lng=-115.171)
PIN = "4821"
FREE_WAIT = timedelta(minutes=5)


def stops_for(route_id: UUID, first_sequence: int) -> list[RouteStop]:
    shipment, order = uuid.uuid4(), uuid.uuid4()
    home = GeoPoint(lat=36.14 + first_sequence / 1000, lng=-115.15)
    common = {
        "shipment_id": shipment,
        "order_id": order,
        "store_id": "st-1",
        "store_name": "Store",
        "area": "LV",
        "labels": [f"L-{shipment.hex[:6]}-1", f"L-{shipment.hex[:6]}-2"],
        "package_count": 2,
        "eta": START,
        "deliver_by": START + timedelta(hours=2),
    }
    return [
        RouteStop(
            stop_id=uuid.uuid5(route_id, f"pickup:{shipment}"),
            sequence=first_sequence,
            kind=StopKind.PICKUP,
            location=STORE,
            address="desk",
            **common,
        ),
        RouteStop(
            stop_id=uuid.uuid5(route_id, f"dropoff:{shipment}"),
            sequence=first_sequence + 1,
            kind=StopKind.DROPOFF,
            location=home,
            address="1 Main St",
            pin_sha256=hashlib.sha256(PIN.encode()).hexdigest(),
            **common,
        ),
    ]


class DriverRouteLifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = START
        self.last_revision = 0

    @initialize(shipments=st.integers(1, 3), cancelled_before_accept=st.booleans())
    def accept(self, shipments: int, cancelled_before_accept: bool) -> None:
        route_id = uuid.uuid4()
        stops = [s for i in range(shipments) for s in stops_for(route_id, 2 * i)]
        cancelled = {stops[0].shipment_id} if cancelled_before_accept else set()
        self.route, events = Route.accept(
            OfferTerms(
                offer_id=uuid.uuid4(),
                route_id=route_id,
                mall_id="mall-1",
                pay_cents=1500,
                currency="USD",
                hourly_floor_cents=2100,
                block_minutes=60,
                stops=tuple(stops),
            ),
            uuid.uuid4(),
            cancelled,
            at=self.now,
        )
        self.record(events)

    def record(self, events: list[Payload]) -> None:
        for event in events:
            if isinstance(event, RouteStopsChanged):
                # Every change reaches dispatch, in order, with all the stops.
                assert event.revision == self.last_revision + 1
                self.last_revision = event.revision
                assert {s.stop_id for s in event.stops} == {s.id for s in self.route.stops}
                assert event.is_completed == self.route.is_completed

    def step(self, act: Callable[[Route], list[Payload] | None], minutes: int = 3) -> None:
        self.now += timedelta(minutes=minutes)
        before = copy.deepcopy(self.route)
        try:
            events = act(self.route)
        except DomainError:
            assert self.route == before
            return
        self.record(events or [])

    def pick(self, index: int, kind: StopKind) -> UUID:
        of_kind = [s for s in self.route.stops if s.kind is kind] or self.route.stops
        return of_kind[index % len(of_kind)].id

    index = st.integers(0, 5)

    @rule(i=index)
    def arrive(self, i: int) -> None:
        stop_id = self.pick(i, StopKind.PICKUP)
        self.step(lambda r: r.arrive(stop_id, Point(STORE.lat, STORE.lng), 150, at=self.now))

    @rule(i=index, partial=st.booleans(), wait=st.integers(0, 20))
    def pick_up(self, i: int, partial: bool, wait: int) -> None:
        stop_id = self.pick(i, StopKind.PICKUP)
        labels = next(s.labels for s in self.route.stops if s.id == stop_id)
        scanned = labels[:1] if partial else labels
        self.step(
            lambda r: r.pick_up(
                stop_id, scanned, partial=partial, free_wait=FREE_WAIT, at=self.now
            ),
            minutes=wait,
        )

    @rule(i=index, right_pin=st.booleans())
    def deliver(self, i: int, right_pin: bool) -> None:
        stop = next(s for s in self.route.stops if s.id == self.pick(i, StopKind.DROPOFF))
        self.step(
            lambda r: r.deliver(
                stop.id, stop.point, 100, PIN if right_pin else "0000", "ab" * 32, at=self.now
            )
        )

    @rule(i=index)
    def fail(self, i: int) -> None:
        stop_id = self.pick(i, StopKind.DROPOFF)
        self.step(lambda r: r.fail(stop_id, "customer_absent", at=self.now)[1])

    @rule(i=index)
    def hand_back(self, i: int) -> None:
        stop_id = self.pick(i, StopKind.RETURN)
        self.step(lambda r: r.hand_back(stop_id, at=self.now))

    @rule(picks=st.sets(st.integers(0, 5), min_size=1, max_size=2))
    def order_cancelled(self, picks: set[int]) -> None:
        shipments = sorted({s.shipment_id for s in self.route.stops}, key=str)
        chosen = {shipments[p % len(shipments)] for p in picks}
        self.step(lambda r: r.cancel_shipments(chosen, at=self.now))

    @rule()
    def dispatch_adds_a_rerouted_pickup(self) -> None:
        position = max(s.sequence for s in self.route.stops)
        added = stops_for(self.route.id, position)
        self.step(lambda r: r.add_stops(added, at=self.now))

    @rule()
    def dispatch_releases(self) -> None:
        self.step(lambda r: r.release(at=self.now))

    @rule(cents=st.sampled_from([100, 500]))
    def customer_tips(self, cents: int) -> None:
        self.step(lambda r: r.add_tip(cents))

    # Steps from the driver and from others arriving in either order.
    @rule(i=index, flipped=st.booleans())
    def scan_races_cancel(self, i: int, flipped: bool) -> None:
        stop_id = self.pick(i, StopKind.PICKUP)
        stop = next(s for s in self.route.stops if s.id == stop_id)
        steps: list[Callable[[], None]] = [
            lambda: self.step(
                lambda r: r.pick_up(
                    stop_id, stop.labels, partial=False, free_wait=FREE_WAIT, at=self.now
                )
            ),
            lambda: self.step(lambda r: r.cancel_shipments({stop.shipment_id}, at=self.now)),
        ]
        for run in reversed(steps) if flipped else steps:
            run()

    # --- invariants ---------------------------------------------------------------------------

    @invariant()
    def goods_are_with_exactly_one_party(self) -> None:
        for shipment_id in self.route.shipment_ids:
            of_it = [s for s in self.route.stops if s.shipment_id == shipment_id]
            holder = self.route.holder_of(shipment_id)
            delivered = [
                s for s in of_it if s.kind is StopKind.DROPOFF and s.status is StopStatus.DELIVERED
            ]
            returns = [s for s in of_it if s.kind is StopKind.RETURN]
            picked = any(
                s.kind is StopKind.PICKUP and s.status is StopStatus.PICKED_UP for s in of_it
            )
            assert len(delivered) <= 1 and len(returns) <= 1
            # Never both at the customer's and on the way back to the store.
            assert not (delivered and returns)
            if holder == "driver":
                # Aboard: something still takes it off the car, a drop-off or a return.
                assert any(
                    s.status is StopStatus.PENDING for s in of_it if s.kind is not StopKind.PICKUP
                )
            if not picked:
                assert holder == "store" and not delivered and not returns

    @invariant()
    def a_finished_route_has_nothing_pending(self) -> None:
        pending = [s for s in self.route.stops if s.status is StopStatus.PENDING]
        if self.route.is_completed:
            assert pending == []
        elif not pending:
            # Only a route nobody worked on waits for dispatch.
            assert not any(
                s.status in (StopStatus.PICKED_UP, StopStatus.DELIVERED) for s in self.route.stops
            )

    @invariant()
    def pay_is_never_under_the_floor(self) -> None:
        pay = self.route.pay()
        floor = (pay.worked_seconds * self.route.hourly_floor_cents) // 3600
        assert pay.total_cents - pay.tip_cents >= floor
        assert pay.pay_cents == 1500


DriverRouteLifecycle.TestCase.settings = settings(
    max_examples=200, stateful_step_count=30, deadline=None
)
TestDriverRouteLifecycle = DriverRouteLifecycle.TestCase
