"""Where a route and each of its stops stand on the console's board, from the milestones the
services report. Pure: the caller loads the rows and passes `now`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from dispatch_service.domain.route import RouteStatus
from shared.events.dispatch import RouteStop, StopKind
from shared.events.driver import StopStatus
from shared.geo import Point


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
