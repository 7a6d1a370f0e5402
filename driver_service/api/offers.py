from __future__ import annotations

import time
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Header, Path, Query, Response
from pydantic import BaseModel

from driver_service import usecases
from driver_service.api.deps import DbDep, DriverDep, GateDep, HubDep, SettingsDep
from driver_service.domain.errors import OfferTaken
from driver_service.offer_hub import OfferCard, offer_etag
from shared import clock
from shared.problems import PROBLEM

router = APIRouter(tags=["offers"])

_OFFER_ID = "c4b2a1f0-3e9d-4c8b-a7f6-5e4d3c2b1a09"
OfferId = Annotated[UUID, Path(examples=[_OFFER_ID])]
OFFERS_EXAMPLE: dict[str, Any] = {
    "offers": [
        {
            "offer_id": _OFFER_ID,
            "pay_cents": 1450,
            "currency": "USD",
            "hourly_floor_cents": 2100,
            "block_minutes": 60,
            "pickup_mall_name": "Fashion Show Mall",
            "pickup_area": "Las Vegas, NV 89109",
            "store_names": ["Harbor Outfitters at Fashion Show Mall"],
            "stop_count": 2,
            "expected_miles": 6.4,
            "dropoff_areas": ["Las Vegas 89104"],
            "expires_at": "2026-11-26T03:15:05Z",
            "round": 1,
        }
    ]
}


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
    responses={
        200: {"content": {"application/json": {"example": OFFERS_EXAMPLE}}},
        304: {"description": "Nothing changed since the ETag sent"},
        401: PROBLEM,
    },
)
async def my_offers(
    response: Response,
    hub: HubDep,
    settings: SettingsDep,
    driver: DriverDep,
    wait: Annotated[
        float,
        Query(
            ge=0, description="Hold up to this many seconds for a change (capped).", examples=[25]
        ),
    ] = 0,
    if_none_match: Annotated[
        str | None, Header(examples=['"9f2c4e6a8b0d1f3e5a7c9e1b3d5f7a9c"'])
    ] = None,
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
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": {
                        "offer_id": _OFFER_ID,
                        "route_id": "5d0e7b3a-9c41-4f2e-8b6d-0a1f2e3d4c5b",
                    }
                }
            }
        },
        401: PROBLEM,
        404: PROBLEM,
        409: PROBLEM,
        410: PROBLEM,
    },
)
async def accept(offer_id: OfferId, db: DbDep, gate: GateDep, driver: DriverDep) -> AcceptedView:
    """The first driver to accept wins the route; everyone after gets 409 `already_taken`."""
    async with gate.turn(offer_id):
        if gate.is_lost_by(offer_id, driver.id):
            raise OfferTaken()
        async with db.begin() as tx:
            win = await usecases.accept_offer(tx, offer_id, driver.id, clock.now())
        gate.record(offer_id, win)
    return AcceptedView(offer_id=offer_id, route_id=win.route_id)


@router.post(
    "/v1/offers/{offer_id}/decline",
    status_code=204,
    responses={401: PROBLEM, 404: PROBLEM, 409: PROBLEM, 410: PROBLEM},
)
async def decline(offer_id: OfferId, db: DbDep, driver: DriverDep) -> Response:
    async with db.begin() as tx:
        await usecases.decline_offer(tx, offer_id, driver.id, clock.now())
    return Response(status_code=204)
