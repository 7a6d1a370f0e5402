"""A driver's accepted route and its stops: the only code that changes their state.

Every method refuses with a domain error and changes nothing, or changes the route and returns
the events to publish; each change ends with `route.stops_changed`, dispatch's copy.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from uuid import UUID

from driver_service.domain import earnings
from driver_service.domain.errors import (
    IllegalStep,
    OutsideGeofence,
    PinLocked,
    PinMismatch,
    RouteEnded,
    ScanMismatch,
    StopRemoved,
    UnknownThing,
    WrongPin,
)
from shared.events.common import GeoPoint
from shared.events.dispatch import RouteStop, StopKind
from shared.events.driver import (
    OfferAccepted,
    RoutePickupWait,
    RouteStopDelivered,
    RouteStopFailed,
    RouteStopPickedUp,
    RouteStopReturned,
    RouteStopsChanged,
    RouteStopState,
    StopStatus,
)
from shared.events.envelope import Payload
from shared.geo import Point, haversine_m

# Statuses a driver's own step leaves a stop in (a cancellation is not a step).
DONE_BY_DRIVER = frozenset(
    {StopStatus.PICKED_UP, StopStatus.DELIVERED, StopStatus.FAILED, StopStatus.RETURNED}
)

# Wrong PINs a stop allows; after them the delivery needs an operator.
MAX_WRONG_PINS = 5


@dataclass(frozen=True)
class ScanResult:
    picked: list[str]
    missing: list[str]


def check_scan(expected: list[str], scanned: list[str], *, partial: bool) -> ScanResult:
    """Scanned barcodes against the store's labels; a short pickup must be declared partial."""
    wanted = set(expected)
    seen = list(dict.fromkeys(scanned))
    unknown = [label for label in seen if label not in wanted]
    missing = [label for label in expected if label not in set(seen)]
    if unknown or not seen or (missing and not partial):
        raise ScanMismatch(missing=missing, unknown=unknown)
    return ScanResult(picked=[label for label in expected if label in set(seen)], missing=missing)


def check_within(target: Point, position: Point, radius_m: float) -> float:
    distance = haversine_m(target, position)
    if distance > radius_m:
        raise OutsideGeofence(distance, radius_m)
    return distance


def check_pin(pin_sha256: str | None, pin: str | None) -> None:
    if pin_sha256 is None:
        return
    if not pin:
        raise WrongPin("This delivery needs the customer's PIN; ask the customer for it.")
    given = hashlib.sha256(pin.encode()).hexdigest()
    if not hmac.compare_digest(given, pin_sha256.lower()):
        raise PinMismatch("The PIN does not match; ask the customer to read it again.")


def check_pin_tries(wrong_so_far: int) -> None:
    if wrong_so_far >= MAX_WRONG_PINS:
        raise PinLocked(
            f"{MAX_WRONG_PINS} wrong PINs were entered for this delivery, so it is locked: "
            "call driver support, an operator will confirm it, or mark the stop failed."
        )


def after_wrong_pin(wrong_so_far: int) -> PinMismatch:
    """The answer to a wrong PIN: how many tries are left, or that the stop is now locked."""
    left = MAX_WRONG_PINS - wrong_so_far
    if left <= 0:
        return PinMismatch(
            "The PIN does not match, and that was the last try: call driver support, an "
            "operator will confirm the delivery, or mark the stop failed."
        )
    return PinMismatch(
        f"The PIN does not match; ask the customer to read it again ({left} "
        f"{'try' if left == 1 else 'tries'} left)."
    )


def return_stop_id(route_id: UUID, shipment_id: UUID) -> UUID:
    # Derived, not drawn: applying the same step twice names the same stop.
    return uuid.uuid5(route_id, f"return:{shipment_id}")


@dataclass
class Stop:
    id: UUID
    sequence: int
    kind: StopKind
    shipment_id: UUID
    order_id: UUID
    store_id: str
    store_name: str
    lat: float
    lng: float
    address: str
    area: str
    instructions: str
    labels: list[str]
    package_count: int
    eta: datetime
    deliver_by: datetime
    pin_sha256: str | None = None
    # A drop-off in a scheduled window: not before this.
    deliver_from: datetime | None = None
    status: StopStatus = StopStatus.PENDING
    picked_labels: list[str] | None = None
    missing_labels: list[str] | None = None
    arrived_at: datetime | None = None
    done_at: datetime | None = None
    fail_reason: str | None = None
    proof_photo_sha256: str | None = None
    wait_pay_cents: int = 0

    @classmethod
    def of(cls, stop: RouteStop) -> Stop:
        return cls(
            id=stop.stop_id,
            sequence=stop.sequence,
            kind=stop.kind,
            shipment_id=stop.shipment_id,
            order_id=stop.order_id,
            store_id=stop.store_id,
            store_name=stop.store_name,
            lat=stop.location.lat,
            lng=stop.location.lng,
            address=stop.address,
            area=stop.area,
            instructions=stop.instructions,
            labels=list(stop.labels),
            package_count=stop.package_count,
            eta=stop.eta,
            deliver_by=stop.deliver_by,
            pin_sha256=stop.pin_sha256,
            deliver_from=stop.deliver_from,
        )

    @property
    def point(self) -> Point:
        return Point(self.lat, self.lng)

    def state(self) -> RouteStopState:
        return RouteStopState(
            stop_id=self.id,
            sequence=self.sequence,
            kind=self.kind,
            shipment_id=self.shipment_id,
            order_id=self.order_id,
            store_id=self.store_id,
            store_name=self.store_name,
            location=GeoPoint(lat=self.lat, lng=self.lng),
            address=self.address,
            area=self.area,
            instructions=self.instructions,
            labels=list(self.labels),
            package_count=self.package_count,
            eta=self.eta,
            deliver_by=self.deliver_by,
            pin_sha256=self.pin_sha256,
            deliver_from=self.deliver_from,
            status=self.status,
        )


@dataclass(frozen=True)
class OfferTerms:
    """What the accepted offer said, copied onto the route."""

    offer_id: UUID
    route_id: UUID
    mall_id: str
    pay_cents: int
    currency: str
    hourly_floor_cents: int
    block_minutes: int
    stops: tuple[RouteStop, ...]


@dataclass
class Route:
    id: UUID
    offer_id: UUID
    driver_id: UUID
    mall_id: str
    pay_cents: int
    currency: str
    hourly_floor_cents: int
    block_minutes: int
    accepted_at: datetime
    tip_cents: int = 0
    assigned_at: datetime | None = None
    completed_at: datetime | None = None
    revision: int = 0
    stops: list[Stop] = field(default_factory=list)

    # --- queries ------------------------------------------------------------------------------

    @property
    def is_completed(self) -> bool:
        return self.completed_at is not None

    @property
    def shipment_ids(self) -> set[UUID]:
        return {s.shipment_id for s in self.stops}

    def stop(self, stop_id: UUID) -> Stop:
        for stop in self.stops:
            if stop.id == stop_id:
                return stop
        raise UnknownThing("stop")

    def pickup_of(self, shipment_id: UUID) -> Stop | None:
        return next(
            (s for s in self.stops if s.kind is StopKind.PICKUP and s.shipment_id == shipment_id),
            None,
        )

    def holder_of(self, shipment_id: UUID) -> str:
        """Who holds a shipment's goods, as this route tells it: store, driver or customer."""
        of_it = [s for s in self.stops if s.shipment_id == shipment_id]
        if any(s.kind is StopKind.DROPOFF and s.status is StopStatus.DELIVERED for s in of_it):
            return "customer"
        if any(s.kind is StopKind.RETURN and s.status is StopStatus.RETURNED for s in of_it):
            return "store"
        pickup = self.pickup_of(shipment_id)
        return "driver" if pickup is not None and pickup.status is StopStatus.PICKED_UP else "store"

    def pay(self) -> earnings.RoutePay:
        end = self.completed_at or self.accepted_at
        return earnings.route_pay(
            pay_cents=self.pay_cents,
            hourly_floor_cents=self.hourly_floor_cents,
            started_at=self.accepted_at,
            finished_at=end,
            wait_pay_cents=sum(s.wait_pay_cents for s in self.stops),
            tip_cents=self.tip_cents,
        )

    # --- creation -----------------------------------------------------------------------------

    @classmethod
    def accept(
        cls, terms: OfferTerms, driver_id: UUID, cancelled: Collection[UUID], *, at: datetime
    ) -> tuple[Route, list[Payload]]:
        """The route a winning accept creates; shipments cancelled while it was on offer are
        off it from the start."""
        route = cls(
            id=terms.route_id,
            offer_id=terms.offer_id,
            driver_id=driver_id,
            mall_id=terms.mall_id,
            pay_cents=terms.pay_cents,
            currency=terms.currency,
            hourly_floor_cents=terms.hourly_floor_cents,
            block_minutes=terms.block_minutes,
            accepted_at=at,
            stops=[Stop.of(s) for s in sorted(terms.stops, key=lambda s: s.sequence)],
        )
        for stop in route.stops:
            if stop.shipment_id in cancelled:
                stop.status, stop.fail_reason, stop.done_at = (
                    StopStatus.CANCELLED,
                    "order_cancelled",
                    at,
                )
        events: list[Payload] = [
            OfferAccepted(
                offer_id=terms.offer_id,
                route_id=route.id,
                mall_id=route.mall_id,
                driver_id=driver_id,
                pay_cents=route.pay_cents,
                at=at,
            )
        ]
        return route, events + route._changed(at, by_driver=False)

    # --- the driver's steps -------------------------------------------------------------------

    def _pending(self, stop_id: UUID, kind: StopKind) -> Stop:
        if self.is_completed:
            raise RouteEnded("This route is finished; look at your offers for the next one.")
        stop = self.stop(stop_id)
        if stop.kind is not kind:
            raise IllegalStep(f"This stop is a {stop.kind.value} stop, not a {kind.value} stop.")
        if stop.status is StopStatus.CANCELLED:
            raise StopRemoved()
        if stop.status is not StopStatus.PENDING:
            raise IllegalStep(f"This stop is already {stop.status.value}.")
        return stop

    def _dropoff_eta(self, pickup: Stop, at: datetime) -> datetime | None:
        """The shipment's drop-off as planned, moved by how late (or early) its pickup was."""
        dropoff = next(
            (
                s
                for s in self.stops
                if s.kind is StopKind.DROPOFF and s.shipment_id == pickup.shipment_id
            ),
            None,
        )
        return None if dropoff is None else dropoff.eta + (at - pickup.eta)

    def arrive(self, stop_id: UUID, position: Point, geofence_m: float, *, at: datetime) -> None:
        stop = self._pending(stop_id, StopKind.PICKUP)
        check_within(stop.point, position, geofence_m)
        if stop.arrived_at is None:
            stop.arrived_at = at

    def pick_up(
        self,
        stop_id: UUID,
        barcodes: Sequence[str],
        *,
        partial: bool,
        free_wait: timedelta,
        at: datetime,
    ) -> list[Payload]:
        stop = self._pending(stop_id, StopKind.PICKUP)
        scan = check_scan(list(stop.labels), list(barcodes), partial=partial)
        wait = (
            earnings.wait_pay(stop.arrived_at, at, free_wait, self.hourly_floor_cents)
            if stop.arrived_at is not None
            else None
        )
        stop.status = StopStatus.PICKED_UP
        stop.picked_labels, stop.missing_labels = scan.picked, scan.missing
        stop.done_at = at
        stop.wait_pay_cents = wait.paid_cents if wait else 0
        events: list[Payload] = [
            RouteStopPickedUp(
                route_id=self.id,
                stop_id=stop.id,
                mall_id=self.mall_id,
                driver_id=self.driver_id,
                order_id=stop.order_id,
                shipment_id=stop.shipment_id,
                labels=scan.picked,
                missing_labels=scan.missing,
                at=at,
                dropoff_eta=self._dropoff_eta(stop, at),
            )
        ]
        if wait is not None and wait.paid_seconds > 0:
            events.append(
                RoutePickupWait(
                    route_id=self.id,
                    stop_id=stop.id,
                    mall_id=self.mall_id,
                    store_id=stop.store_id,
                    driver_id=self.driver_id,
                    waited_minutes=round(wait.waited_seconds / 60, 2),
                    paid_minutes=round(wait.paid_seconds / 60, 2),
                    paid_cents=wait.paid_cents,
                    at=at,
                )
            )
        return events + self._changed(at, by_driver=True)

    def _require_picked_up(self, stop: Stop) -> Stop:
        pickup = self.pickup_of(stop.shipment_id)
        if pickup is None or pickup.status is not StopStatus.PICKED_UP:
            raise IllegalStep("Pick this package up at the store first.")
        return pickup

    def deliver(
        self,
        stop_id: UUID,
        position: Point,
        geofence_m: float,
        pin: str | None,
        proof_photo_sha256: str,
        *,
        at: datetime,
    ) -> list[Payload]:
        stop = self._pending(stop_id, StopKind.DROPOFF)
        self._require_picked_up(stop)
        check_within(stop.point, position, geofence_m)
        check_pin(stop.pin_sha256, pin)
        stop.status, stop.proof_photo_sha256, stop.done_at = (
            StopStatus.DELIVERED,
            proof_photo_sha256,
            at,
        )
        events: list[Payload] = [
            RouteStopDelivered(
                route_id=self.id,
                stop_id=stop.id,
                mall_id=self.mall_id,
                driver_id=self.driver_id,
                order_id=stop.order_id,
                shipment_id=stop.shipment_id,
                proof_photo_sha256=proof_photo_sha256,
                at=at,
            )
        ]
        return events + self._changed(at, by_driver=True)

    def fail(self, stop_id: UUID, reason: str, *, at: datetime) -> tuple[UUID, list[Payload]]:
        stop = self._pending(stop_id, StopKind.DROPOFF)
        pickup = self._require_picked_up(stop)
        stop.status, stop.fail_reason, stop.done_at = StopStatus.FAILED, reason, at
        back = self._add_return(stop, pickup, at)
        events: list[Payload] = [
            RouteStopFailed(
                route_id=self.id,
                stop_id=stop.id,
                mall_id=self.mall_id,
                driver_id=self.driver_id,
                order_id=stop.order_id,
                shipment_id=stop.shipment_id,
                reason=reason,
                at=at,
            )
        ]
        return back.id, events + self._changed(at, by_driver=True)

    def hand_back(self, stop_id: UUID, *, at: datetime) -> list[Payload]:
        stop = self._pending(stop_id, StopKind.RETURN)
        stop.status, stop.done_at = StopStatus.RETURNED, at
        events: list[Payload] = [
            RouteStopReturned(
                route_id=self.id,
                stop_id=stop.id,
                mall_id=self.mall_id,
                driver_id=self.driver_id,
                order_id=stop.order_id,
                shipment_id=stop.shipment_id,
                store_id=stop.store_id,
                at=at,
            )
        ]
        return events + self._changed(at, by_driver=True)

    # --- what others tell the route -----------------------------------------------------------

    def mark_assigned(self, driver_id: UUID, *, at: datetime) -> bool:
        """False when dispatch names another driver: the two disagree, nothing changes."""
        if driver_id != self.driver_id:
            return False
        self.assigned_at = at
        return True

    def cancel_shipments(self, shipment_ids: Collection[UUID], *, at: datetime) -> list[Payload]:
        """Untouched stops of these shipments come off the route; packages already aboard get
        a return stop to their store instead of their drop-off."""
        if self.is_completed:
            return []
        touched = False
        for stop in list(self.stops):
            if stop.shipment_id not in shipment_ids or stop.status is not StopStatus.PENDING:
                continue
            if stop.kind is StopKind.RETURN:
                continue  # a package on its way back keeps going back
            touched = True
            stop.status, stop.fail_reason, stop.done_at = (
                StopStatus.CANCELLED,
                "order_cancelled",
                at,
            )
            pickup = self.pickup_of(stop.shipment_id)
            if (
                stop.kind is StopKind.DROPOFF
                and pickup is not None
                and pickup.status is StopStatus.PICKED_UP
            ):
                self._add_return(stop, pickup, at)
        return self._changed(at, by_driver=False) if touched else []

    def add_stops(self, stops: Sequence[RouteStop], *, at: datetime) -> list[Payload]:
        """Dispatch adds a re-routed shipment's stops; they take the sequence dispatch gave,
        the stops after them move down. RouteEnded once the route is finished."""
        if self.is_completed:
            raise RouteEnded("The route already ended.")
        new = [Stop.of(s) for s in stops if s.stop_id not in {x.id for x in self.stops}]
        if not new:
            return []
        ordered = sorted(self.stops, key=lambda s: s.sequence)
        for stop in sorted(new, key=lambda s: s.sequence):
            ordered.insert(min(stop.sequence, len(ordered)), stop)
        for sequence, stop in enumerate(ordered):
            stop.sequence = sequence
        self.stops = ordered
        return self._changed(at, by_driver=False)

    def release(self, *, at: datetime) -> list[Payload]:
        """Dispatch has nothing (more) for this route: untouched stops come off it and it ends,
        paid as offered. Packages already aboard keep their stops: the route goes on."""
        if self.is_completed:
            return []
        aboard = {
            s.shipment_id
            for s in self.stops
            if s.kind is StopKind.PICKUP and s.status is StopStatus.PICKED_UP
        }
        for stop in self.stops:
            if stop.status is StopStatus.PENDING and stop.shipment_id not in aboard:
                stop.status, stop.fail_reason, stop.done_at = (
                    StopStatus.CANCELLED,
                    "route_released",
                    at,
                )
        if all(s.status is not StopStatus.PENDING for s in self.stops):
            self.completed_at = at
        return self._changed(at, by_driver=False, may_complete=False)

    def add_tip(self, tip_cents: int) -> None:
        self.tip_cents += tip_cents

    # --- internals ----------------------------------------------------------------------------

    def _add_return(self, dropoff: Stop, pickup: Stop, at: datetime) -> Stop:
        back = replace(
            pickup,
            id=return_stop_id(self.id, dropoff.shipment_id),
            sequence=max(s.sequence for s in self.stops) + 1,
            kind=StopKind.RETURN,
            labels=list(pickup.picked_labels or pickup.labels),
            package_count=dropoff.package_count,
            eta=at,
            deliver_by=dropoff.deliver_by,
            pin_sha256=None,
            status=StopStatus.PENDING,
            picked_labels=None,
            missing_labels=None,
            arrived_at=None,
            done_at=None,
            fail_reason=None,
            proof_photo_sha256=None,
            wait_pay_cents=0,
        )
        self.stops.append(back)
        return back

    def _changed(
        self, at: datetime, *, by_driver: bool, may_complete: bool = True
    ) -> list[Payload]:
        """Completes the route once nothing is pending: on a driver's step, or when others'
        changes leave a route the driver already worked on with nothing to do. A route emptied
        before any work waits for dispatch: a re-routed pickup may still join it."""
        if (
            may_complete
            and not self.is_completed
            and all(s.status is not StopStatus.PENDING for s in self.stops)
            and (by_driver or any(s.status in DONE_BY_DRIVER for s in self.stops))
        ):
            self.completed_at = at
        self.revision += 1
        return [
            RouteStopsChanged(
                route_id=self.id,
                mall_id=self.mall_id,
                driver_id=self.driver_id,
                revision=self.revision,
                stops=[s.state() for s in sorted(self.stops, key=lambda s: s.sequence)],
                is_completed=self.is_completed,
                at=at,
            )
        ]
