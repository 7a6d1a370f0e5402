"""A driver's accepted route and its stops: the only code that changes their state.

Every method refuses with a domain error and changes nothing, or changes the route and returns
the events to publish; each change ends with `route.stops_changed`, dispatch's copy.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from driver_service.domain import earnings
from driver_service.domain.errors import IllegalStep, RouteEnded, StopRemoved, UnknownThing
from driver_service.domain.offer import OfferTerms
from driver_service.domain.stop import Stop
from driver_service.domain.stop_rules import (
    DONE_BY_DRIVER,
    check_pin,
    check_scan,
    check_within,
    return_stop_id,
)
from shared.events.dispatch import RouteStop, StopKind
from shared.events.driver import (
    OfferAccepted,
    RoutePickupWait,
    RouteStopDelivered,
    RouteStopFailed,
    RouteStopPickedUp,
    RouteStopReturned,
    RouteStopsChanged,
    StopStatus,
)
from shared.events.envelope import Payload
from shared.geo import Point


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
                stop.cancel("order_cancelled", at)
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
            stop.cancel("order_cancelled", at)
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
                stop.cancel("route_released", at)
        if all(s.status is not StopStatus.PENDING for s in self.stops):
            self.completed_at = at
        return self._changed(at, by_driver=False, may_complete=False)

    def add_tip(self, tip_cents: int) -> None:
        self.tip_cents += tip_cents

    # --- internals ----------------------------------------------------------------------------

    def _add_return(self, dropoff: Stop, pickup: Stop, at: datetime) -> Stop:
        back = pickup.return_trip(
            dropoff,
            stop_id=return_stop_id(self.id, dropoff.shipment_id),
            sequence=max(s.sequence for s in self.stops) + 1,
            at=at,
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
