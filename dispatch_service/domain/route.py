"""A dispatch route and its offers: the only code that changes their state.

While a route looks for a driver, dispatch owns it; once a driver accepted, the driver service
owns its execution and dispatch follows its copy (`route.stops_changed`). Every method refuses
an illegal step with IllegalRouteStep and changes nothing, or changes the route and returns the
events to publish.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from dispatch_service.domain.insertion import insert_shipment
from dispatch_service.domain.offers import Accepted, Answer, Candidate, Offer, OfferStatus
from dispatch_service.domain.pay import Quote
from dispatch_service.domain.planning import PlannedRoute
from dispatch_service.domain.pool import PooledShipment, Timing
from shared.events.dispatch import (
    RouteAssigned,
    RouteOffered,
    RouteOfferExpired,
    RoutePlanned,
    RouteReleased,
    RouteStop,
    RouteStopsAdded,
    StopKind,
)
from shared.events.driver import RouteStopsChanged, StopStatus
from shared.events.envelope import Payload
from shared.geo import Point


class RouteStatus(StrEnum):
    OFFERING = "offering"
    ASSIGNED = "assigned"
    WITHDRAWN = "withdrawn"
    # The driver service finished it (every stop done, or released).
    COMPLETED = "completed"


# Routes a shipment on them is really on: at most one of these per shipment, ever.
LIVE = frozenset({RouteStatus.OFFERING, RouteStatus.ASSIGNED})


class IllegalRouteStep(Exception):
    def __init__(self, status: RouteStatus, step: str) -> None:
        super().__init__(f"a {status.value} route cannot be {step}")
        self.status = status
        self.step = step


@dataclass
class Route:
    route_id: UUID
    mall_id: str
    mall_name: str
    status: RouteStatus
    stops: tuple[RouteStop, ...]
    planned_miles: float
    planned_minutes: int
    max_load: int
    depart_at: datetime
    latest_start_at: datetime
    block_type: str
    block_minutes: int
    hourly_floor_cents: int
    base_pay_cents: int
    currency: str
    created_at: datetime
    driver_id: UUID | None = None
    offer_id: UUID | None = None
    pay_cents: int | None = None
    assigned_at: datetime | None = None
    withdrawn_reason: str | None = None
    # The driver service's progress of an accepted route, stop id -> status.
    progress: dict[UUID, StopStatus] = field(default_factory=dict)
    revision: int = 0
    released_at: datetime | None = None
    completed_at: datetime | None = None
    offers: list[Offer] = field(default_factory=list)
    accepted: Accepted | None = None

    # --- queries ------------------------------------------------------------------------------

    @property
    def order_ids(self) -> list[UUID]:
        return sorted({stop.order_id for stop in self.stops}, key=str)

    @property
    def shipment_ids(self) -> set[UUID]:
        return {stop.shipment_id for stop in self.stops}

    @property
    def is_live(self) -> bool:
        return self.status in LIVE

    def status_of(self, stop: RouteStop) -> StopStatus:
        return self.progress.get(stop.stop_id, StopStatus.PENDING)

    def pending_stops(self) -> list[RouteStop]:
        return [s for s in self.stops if self.status_of(s) is StopStatus.PENDING]

    def live_shipment_ids(self) -> set[UUID]:
        """Shipments this route still carries or has yet to fetch."""
        return {s.shipment_id for s in self.pending_stops()}

    @property
    def open_offer(self) -> Offer | None:
        return next((o for o in self.offers if o.status is OfferStatus.OPEN), None)

    def offer(self, offer_id: UUID) -> Offer | None:
        return next((o for o in self.offers if o.offer_id == offer_id), None)

    # --- creation -----------------------------------------------------------------------------

    @classmethod
    def plan(
        cls,
        planned: PlannedRoute,
        *,
        mall_id: str,
        mall_name: str,
        quote: Quote,
        currency: str,
        now: datetime,
    ) -> tuple[Route, list[Payload]]:
        route = cls(
            route_id=planned.route_id,
            mall_id=mall_id,
            mall_name=mall_name,
            status=RouteStatus.OFFERING,
            stops=planned.stops,
            planned_miles=planned.planned_miles,
            planned_minutes=planned.planned_minutes,
            max_load=planned.max_load,
            depart_at=planned.depart_at,
            latest_start_at=planned.latest_start_at,
            block_type=quote.block_type.value,
            block_minutes=quote.block_minutes,
            hourly_floor_cents=quote.hourly_floor_cents,
            base_pay_cents=quote.pay_cents,
            currency=currency,
            created_at=now,
        )
        event = RoutePlanned(
            route_id=route.route_id,
            mall_id=mall_id,
            stops=list(route.stops),
            planned_miles=route.planned_miles,
            planned_minutes=route.planned_minutes,
        )
        return route, [event]

    # --- offering -----------------------------------------------------------------------------

    def offer_to(
        self,
        *,
        offer_id: UUID,
        round_number: int,
        pay_cents: int,
        surge_level: int,
        radius_m: float,
        candidates: Sequence[Candidate],
        pickup_area: str,
        now: datetime,
        expires_at: datetime,
    ) -> list[Payload]:
        if self.status is not RouteStatus.OFFERING or self.open_offer is not None:
            raise IllegalRouteStep(self.status, "offered again")
        # Never under the block's floor, whatever surge did: the advertised promise.
        pay_cents = max(pay_cents, self.base_pay_cents)
        self.offers.append(
            Offer(
                offer_id=offer_id,
                route_id=self.route_id,
                round=round_number,
                pay_cents=pay_cents,
                hourly_floor_cents=self.hourly_floor_cents,
                surge_level=surge_level,
                radius_m=radius_m,
                status=OfferStatus.OPEN,
                created_at=now,
                expires_at=expires_at,
            )
        )
        return [
            RouteOffered(
                offer_id=offer_id,
                route_id=self.route_id,
                mall_id=self.mall_id,
                mall_name=self.mall_name,
                driver_ids=[c.driver_id for c in candidates],
                pay_cents=pay_cents,
                currency=self.currency,
                hourly_floor_cents=self.hourly_floor_cents,
                block_minutes=self.block_minutes,
                expected_miles=self.planned_miles,
                stop_count=len(self.stops),
                pickup_area=pickup_area,
                stops=list(self.stops),
                expires_at=expires_at,
                round=round_number,
                expected_minutes=self.planned_minutes,
            )
        ]

    def close_offer(
        self, offer_id: UUID, status: OfferStatus, answer: Answer, *, now: datetime
    ) -> list[Payload]:
        """Closes an open offer (expired, declined by all, withdrawn); [] if it was not open."""
        offer = self.offer(offer_id)
        if offer is None or offer.status is not OfferStatus.OPEN:
            return []
        offer.status, offer.closed_at, offer.closing_answer = status, now, answer
        return [RouteOfferExpired(offer_id=offer_id, route_id=self.route_id, mall_id=self.mall_id)]

    def withdraw(self, reason: str, *, now: datetime) -> list[Payload]:
        """Back to the pool: the next round plans its shipments again, split or merged anew."""
        if self.status is not RouteStatus.OFFERING:
            raise IllegalRouteStep(self.status, "withdrawn")
        events: list[Payload] = []
        for offer in self.offers:
            events += self.close_offer(
                offer.offer_id, OfferStatus.WITHDRAWN, Answer.WITHDRAWN, now=now
            )
        self.status, self.withdrawn_reason = RouteStatus.WITHDRAWN, reason
        return events

    def accept(
        self,
        offer_id: UUID,
        driver_id: UUID,
        pay_cents: int,
        *,
        at: datetime,
        reclaimable: Collection[UUID] = (),
    ) -> list[Payload]:
        """The driver service decided who won. An offered route is assigned; one withdrawn
        before the accept arrived is taken back when all its shipments are still waiting in the
        pool, else the driver is told it is released: never on two live routes."""
        offer = self.offer(offer_id)
        if offer is None:
            raise IllegalRouteStep(self.status, f"accepted through unknown offer {offer_id}")
        if self.status is RouteStatus.WITHDRAWN and not self.shipment_ids <= set(reclaimable):
            return [
                RouteReleased(
                    route_id=self.route_id,
                    mall_id=self.mall_id,
                    driver_id=driver_id,
                    reason="withdrawn before your accept arrived",
                )
            ]
        if self.status not in (RouteStatus.OFFERING, RouteStatus.WITHDRAWN):
            raise IllegalRouteStep(self.status, "accepted")
        events: list[Payload] = []
        for other in self.offers:
            if other.offer_id != offer_id:
                events += self.close_offer(
                    other.offer_id, OfferStatus.WITHDRAWN, Answer.TAKEN, now=at
                )
        offer.status, offer.closed_at, offer.closing_answer = (
            OfferStatus.ACCEPTED,
            at,
            Answer.TAKEN,
        )
        self.status, self.withdrawn_reason = RouteStatus.ASSIGNED, None
        self.driver_id, self.offer_id, self.pay_cents, self.assigned_at = (
            driver_id,
            offer_id,
            pay_cents,
            at,
        )
        self.accepted = Accepted(offer_id, driver_id, at)
        events.append(
            RouteAssigned(
                route_id=self.route_id,
                offer_id=offer_id,
                mall_id=self.mall_id,
                driver_id=driver_id,
                pay_cents=pay_cents,
                order_ids=self.order_ids,
            )
        )
        return events

    def drop_shipments(self, shipment_ids: Collection[UUID], *, now: datetime) -> list[Payload]:
        """Cancelled shipments. While on offer they come off the route, which stays on offer
        (a driver's accept in flight keeps the rest: never withdrawn under a driver); a route
        left empty is withdrawn. An accepted route is the driver service's to change."""
        if self.status is not RouteStatus.OFFERING:
            return []
        kept = [s for s in self.stops if s.shipment_id not in shipment_ids]
        if len(kept) == len(self.stops):
            return []
        if not kept:
            return self.withdraw("every order on it was cancelled", now=now)
        self.stops = tuple(s.model_copy(update={"sequence": i}) for i, s in enumerate(kept))
        return []

    # --- following the driver -----------------------------------------------------------------

    def follow_driver(self, changed: RouteStopsChanged) -> bool:
        """Takes the driver service's copy of the stops; False for an older copy than ours."""
        if self.status is not RouteStatus.ASSIGNED or changed.revision <= self.revision:
            return False
        self.revision = changed.revision
        self.stops = tuple(
            RouteStop.model_validate(s.model_dump(exclude={"status"})) for s in changed.stops
        )
        self.progress = {s.stop_id: s.status for s in changed.stops}
        if changed.is_completed:
            self.status, self.completed_at = RouteStatus.COMPLETED, changed.at
        return True

    def release(self, reason: str, *, now: datetime) -> list[Payload]:
        """Nothing is left to do on an accepted route and nothing will join it: the driver is
        free. Once."""
        if (
            self.status is not RouteStatus.ASSIGNED
            or self.driver_id is None
            or self.released_at is not None
            or self.pending_stops()
        ):
            return []
        self.released_at = now
        return [
            RouteReleased(
                route_id=self.route_id,
                mall_id=self.mall_id,
                driver_id=self.driver_id,
                reason=reason,
            )
        ]

    def add_shipment(
        self, shipment: PooledShipment, mall: Point, timing: Timing, *, now: datetime
    ) -> list[Payload]:
        """A re-routed shipment's pickup and drop-off join this driver's route when the driver
        is still at the mall (no drop-off made yet) and every promise still holds; [] if not."""
        if (
            self.status is not RouteStatus.ASSIGNED
            or self.driver_id is None
            or self.released_at is not None
            # A scheduled window opening later gets a route of its own when it is near.
            or (shipment.deliver_from is not None and shipment.deliver_from > now)
            or any(
                s.kind is StopKind.DROPOFF
                and self.status_of(s) is not StopStatus.PENDING
                and self.status_of(s) is not StopStatus.CANCELLED
                for s in self.stops
            )
        ):
            return []
        stops = insert_shipment(self, shipment, mall, timing, now=now)
        if stops is None:
            return []
        added = [s for s in stops if s.shipment_id == shipment.shipment_id]
        self.stops = tuple(stops)
        return [
            RouteStopsAdded(
                route_id=self.route_id,
                mall_id=self.mall_id,
                driver_id=self.driver_id,
                stops=added,
            )
        ]
