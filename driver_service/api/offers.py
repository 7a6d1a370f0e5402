from __future__ import annotations

import time
from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, Query, Response
from pydantic import BaseModel

from driver_service import usecases
from driver_service.api.deps import DbDep, DriverDep, GateDep, HubDep, SettingsDep
from driver_service.offer_hub import OfferCard, offer_etag
from shared import clock
from shared.problems import PROBLEM

router = APIRouter(tags=["offers"])


class OfferView(BaseModel):
    offer_id: UUID
    pay_cents: int
    currency: str
    hourly_floor_cents: int
    block_minutes: int
    pickup_mall_name: str
    pickup_area: str
    store_names: list[str]
    stop_count: int
    expected_miles: float
    # Customers only as areas until the offer is accepted.
    dropoff_areas: list[str]
    expires_at: datetime
    round: int

    @classmethod
    def of(cls, card: OfferCard) -> OfferView:
        return cls(
            offer_id=card.offer_id,
            pay_cents=card.pay_cents,
            currency=card.currency,
            hourly_floor_cents=card.hourly_floor_cents,
            block_minutes=card.block_minutes,
            pickup_mall_name=card.mall_name,
            pickup_area=card.pickup_area,
            store_names=list(card.store_names),
            stop_count=card.stop_count,
            expected_miles=card.expected_miles,
            dropoff_areas=list(card.dropoff_areas),
            expires_at=card.expires_at,
            round=card.round,
        )


class OffersView(BaseModel):
    offers: list[OfferView]


class AcceptedView(BaseModel):
    offer_id: UUID
    route_id: UUID


@router.get(
    "/v1/drivers/me/offers",
    response_model=OffersView,
    responses={304: {"description": "Nothing changed since the ETag sent"}, 401: PROBLEM},
)
async def my_offers(
    response: Response,
    hub: HubDep,
    settings: SettingsDep,
    driver: DriverDep,
    wait: Annotated[
        float, Query(ge=0, description="Hold up to this many seconds for a change (capped).")
    ] = 0,
    if_none_match: Annotated[str | None, Header()] = None,
) -> OffersView | Response:
    """Open offers for this driver, served from memory; a long poll waits for a change.

    Without `If-None-Match` the poll waits while there is no offer; with it, while the list
    still has that ETag (then 304).
    """
    deadline = time.monotonic() + min(wait, settings.max_poll_wait_seconds)
    while True:
        cards = hub.offers_for(driver.id, clock.now())
        tag = offer_etag(cards)
        unchanged = tag == if_none_match if if_none_match is not None else not cards
        remaining = deadline - time.monotonic()
        if not unchanged or remaining <= 0:
            break
        await hub.wait_for_change(driver.id, remaining)
    headers = {"ETag": tag, "Cache-Control": "no-store"}
    if if_none_match is not None and tag == if_none_match:
        return Response(status_code=304, headers=headers)
    response.headers.update(headers)
    return OffersView(offers=[OfferView.of(c) for c in cards])


@router.post(
    "/v1/offers/{offer_id}/accept",
    responses={401: PROBLEM, 404: PROBLEM, 409: PROBLEM, 410: PROBLEM},
)
async def accept(offer_id: UUID, db: DbDep, gate: GateDep, driver: DriverDep) -> AcceptedView:
    """The first driver to accept wins the route; everyone after gets 409 `already_taken`."""
    async with gate.turn(offer_id):
        if gate.is_lost_by(offer_id, driver.id):
            raise usecases.already_taken()
        async with db.begin() as tx:
            win = await usecases.accept_offer(tx, offer_id, driver.id, clock.now())
        gate.record(offer_id, win)
    return AcceptedView(offer_id=offer_id, route_id=win.route_id)


@router.post(
    "/v1/offers/{offer_id}/decline",
    status_code=204,
    responses={401: PROBLEM, 404: PROBLEM, 409: PROBLEM, 410: PROBLEM},
)
async def decline(offer_id: UUID, db: DbDep, driver: DriverDep) -> Response:
    async with db.begin() as tx:
        await usecases.decline_offer(tx, offer_id, driver.id, clock.now())
    return Response(status_code=204)
