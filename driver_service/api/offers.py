from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl
from uuid import UUID

from fastapi import APIRouter, Header, Path, Query, Response
from pydantic import BaseModel
from starlette.types import ASGIApp, Receive, Scope, Send

from driver_service import auth, usecases
from driver_service.api.deps import DriverDep, GateDep, HubDep, SettingsDep
from driver_service.domain.errors import OfferTaken
from driver_service.offer_hub import OfferCard, OfferHub
from driver_service.settings import DriverSettings
from shared import clock
from shared.api import DbDep
from shared.metrics import RouteLabel
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
    still has that ETag (then 304). `OffersFastPath` serves every plainly valid poll itself;
    this route answers the rest (and describes the endpoint).
    """
    polled = await poll_offers(hub, driver.id, wait, if_none_match, settings.max_poll_wait_seconds)
    headers = {"ETag": polled.etag, "Cache-Control": "no-store"}
    if polled.body is None:
        return Response(status_code=304, headers=headers)
    return Response(polled.body, media_type="application/json", headers=headers)


@dataclass(frozen=True, slots=True)
class Polled:
    etag: str
    body: bytes | None  # None: unchanged since the ETag sent (304)


async def poll_offers(
    hub: OfferHub, driver_id: UUID, wait: float, if_none_match: str | None, max_wait: float
) -> Polled:
    deadline = time.monotonic() + min(wait, max_wait)
    while True:
        cards = hub.offers_for(driver_id, clock.now())
        tag = hub.etag(cards)
        unchanged = tag == if_none_match if if_none_match is not None else not cards
        remaining = deadline - time.monotonic()
        if not unchanged or remaining <= 0:
            break
        await hub.wait_for_change(driver_id, remaining)
    if if_none_match is not None and tag == if_none_match:
        return Polled(tag, None)
    # One offer woken to many drivers is rendered once (the hub keeps each offer's bytes).
    return Polled(tag, b'{"offers":[' + b",".join(hub.view(card) for card in cards) + b"]}")


OFFERS_PATH = "/v1/drivers/me/offers"
_OFFERS_ROUTE = RouteLabel(OFFERS_PATH)
_WAIT = re.compile(r"\d{1,6}(\.\d{1,6})?")


def parse_poll(scope: Scope, settings: DriverSettings) -> tuple[UUID, float, str | None] | None:
    """(driver, wait, If-None-Match) of a plainly valid poll, else None (FastAPI then answers).

    Accepts a subset of what the route accepts, never more: `wait` alone as a plain decimal,
    one bearer token that verifies, at most one If-None-Match.
    """
    wait: float | None = None
    for name, value in parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True):
        if name != "wait" or wait is not None or not _WAIT.fullmatch(value):
            return None
        wait = float(value)
    token: str | None = None
    if_none_match: str | None = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, credentials = value.decode("latin-1").partition(" ")
            if token is not None or scheme.lower() != "bearer" or not credentials:
                return None
            token = credentials
        elif name == b"if-none-match":
            if if_none_match is not None:
                return None
            if_none_match = value.decode("latin-1")
    if token is None:
        return None
    try:
        claims = auth.decode_token(settings.jwt_secret, token, "access", clock.now())
    except auth.InvalidToken:
        return None
    return claims.driver_id, wait or 0.0, if_none_match


class OffersFastPath:
    """Serves plainly valid long polls without FastAPI's routing and dependency machinery.

    Thousands of drivers hold a poll each: what a waiting request keeps (frames, request and
    dependency state) is paid per driver in memory, and its unwinding per driver when one offer
    wakes many. Anything this does not accept (no or a bad token, odd parameters) goes on to the
    declared route, which answers with the usual problems.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == OFFERS_PATH and scope["method"] == "GET":
            state = scope["app"].state
            hub: OfferHub | None = getattr(state, "offer_hub", None)
            settings: DriverSettings = state.settings
            parsed = parse_poll(scope, settings) if hub is not None else None
            if hub is not None and parsed is not None:
                # The metrics label the request with its route, as if routing had found it.
                scope["route"] = _OFFERS_ROUTE
                driver_id, wait, if_none_match = parsed
                polled = await poll_offers(
                    hub, driver_id, wait, if_none_match, settings.max_poll_wait_seconds
                )
                headers = [(b"etag", polled.etag.encode()), (b"cache-control", b"no-store")]
                if polled.body is None:
                    await send({"type": "http.response.start", "status": 304, "headers": headers})
                    await send({"type": "http.response.body", "body": b""})
                    return
                headers += [
                    (b"content-length", str(len(polled.body)).encode()),
                    (b"content-type", b"application/json"),
                ]
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await send({"type": "http.response.body", "body": polled.body})
                return
        await self.app(scope, receive, send)


def render_offer(card: OfferCard) -> bytes:
    """One element of `OffersView.offers`, as FastAPI would have serialised it."""
    return OfferView.of(card).model_dump_json().encode()


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
