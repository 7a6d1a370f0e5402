"""A route's offer log: each offer, who was shown it and the answer. The operators' API and the
console show the same log. Internal (operators only): it names drivers.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel

from dispatch_service.domain.offers import Offer
from dispatch_service.store import routes
from dispatch_service.store.routes import ViewRecord
from shared.db import Db
from shared.problems import NotFound


class SightingView(BaseModel):
    driver_id: UUID
    shown_at: datetime
    pay_cents: int
    distance_m: float
    answer: str
    answered_at: datetime | None

    @classmethod
    def from_record(cls, view: ViewRecord) -> SightingView:
        return cls(
            driver_id=view.driver_id,
            shown_at=view.shown_at,
            pay_cents=view.pay_cents,
            distance_m=view.distance_m,
            answer=view.answer.value,
            answered_at=view.answered_at,
        )


class OfferRoundView(BaseModel):
    offer_id: UUID
    round: int
    pay_cents: int
    hourly_floor_cents: int
    surge_level: int
    radius_m: float
    status: str
    created_at: datetime
    expires_at: datetime
    closed_at: datetime | None
    shown_to: list[SightingView]


class OfferLogView(BaseModel):
    route_id: UUID
    route_status: str
    currency: str
    rounds: list[OfferRoundView]


def offer_round_view(offer: Offer, views: list[ViewRecord]) -> OfferRoundView:
    return OfferRoundView(
        offer_id=offer.offer_id,
        round=offer.round,
        pay_cents=offer.pay_cents,
        hourly_floor_cents=offer.hourly_floor_cents,
        surge_level=offer.surge_level,
        radius_m=offer.radius_m,
        status=offer.status.value,
        created_at=offer.created_at,
        expires_at=offer.expires_at,
        closed_at=offer.closed_at,
        shown_to=[SightingView.from_record(v) for v in views if v.offer_id == offer.offer_id],
    )


async def offer_log(db: Db, route_id: UUID) -> OfferLogView:
    """A route's offers and who was shown each: the operators' API and the console show the
    same log."""
    async with db.begin() as tx:
        route = await routes.get(tx, route_id)
        if route is None:
            raise NotFound("route")
        offers = await routes.offers_of(tx, route_id)
        views = await routes.visibility_log(tx, route_id)
    return OfferLogView(
        route_id=route.route_id,
        route_status=route.status.value,
        currency=route.currency,
        rounds=[offer_round_view(offer, views) for offer in offers],
    )
