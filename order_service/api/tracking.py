"""The shopper's tracking page: `GET /t/{token}`, its script and style, and the status it polls.

Whoever holds the token sees the order as its shopper does (no sign-in: the link is shared by
text or e-mail), so the page, its assets and its API carry no store or mall name, address or
coordinates: the driver appears only once away from the mall, as in the customer API.
"""

from __future__ import annotations

import html
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field

from order_service import usecases
from order_service.api.deps import OutgoingDep
from order_service.domain.order import CUSTOMER_MESSAGES, ShipmentStatus
from order_service.outgoing import Outgoing, window_of
from shared import clock
from shared.api import DbDep
from shared.problems import PROBLEM, NotFound

router = APIRouter(prefix="/t", tags=["tracking"])

_TOKEN = "q8m3Zr1wKc5tLx0pVb7nJg"
# What the page's links name: an unguessable token, never an order id.
Token = Annotated[
    str,
    Path(min_length=16, max_length=64, pattern=r"^[A-Za-z0-9_-]+$", examples=[_TOKEN]),
]
# The page is shown inside other apps' web views: it must never send its token onwards.
_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
ASSETS = {"tracking.js": "text/javascript", "tracking.css": "text/css"}


@cache
def _asset(name: str) -> str:
    return resources.files("order_service.tracking").joinpath(name).read_text()


def _csp(outgoing: Outgoing) -> str:
    # Photos come from the driver service's signed links; nothing else leaves this origin.
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        f"img-src 'self' {outgoing.driver_public_url}; base-uri 'none'; frame-ancestors 'self'"
    )


class WindowView(BaseModel):
    starts_at: datetime
    ends_at: datetime


class PointView(BaseModel):
    lat: float
    lng: float


class DriverView(PointView):
    at: datetime


class ProofView(BaseModel):
    delivered_at: datetime
    photo_urls: list[str]


class TimelineEntryView(BaseModel):
    at: datetime
    status: str
    message: str


class TrackingView(BaseModel):
    status: str
    message: str
    window: WindowView
    deliver_by: datetime
    eta: datetime | None
    is_delayed: bool
    # The shopper's own drop-off: the map's centre.
    destination: PointView
    driver: DriverView | None = Field(
        description="Only after the pickup and once away from the mall."
    )
    proof: ProofView | None
    timeline: list[TimelineEntryView]


_STATUS_EXAMPLE: dict[str, Any] = {
    "status": "picked_up",
    "message": "Your order is on its way.",
    "window": {"starts_at": "2026-11-25T18:00:00-08:00", "ends_at": "2026-11-25T20:00:00-08:00"},
    "deliver_by": "2026-11-25T20:00:00-08:00",
    "eta": "2026-11-25T18:52:00-08:00",
    "is_delayed": False,
    "destination": {"lat": 36.1605, "lng": -115.1237},
    "driver": {"lat": 36.1583, "lng": -115.1521, "at": "2026-11-26T02:41:30Z"},
    "proof": None,
    "timeline": [
        {"at": "2026-11-25T21:02:11Z", "status": "placed", "message": "Order placed."},
        {
            "at": "2026-11-26T02:33:50Z",
            "status": "picked_up",
            "message": "Your order is on its way.",
        },
    ],
}


def tracking_view(found: usecases.CustomerOrder, outgoing: Outgoing, now: datetime) -> TrackingView:
    order = found.order
    photos = outgoing.photos(order, now)
    return TrackingView(
        status=order.status.value,
        message=CUSTOMER_MESSAGES[order.status],
        window=WindowView.model_validate(window_of(order)),
        deliver_by=order.deliver_by,
        eta=found.eta,
        is_delayed=order.is_at_risk,
        destination=PointView(lat=order.dropoff_lat, lng=order.dropoff_lng),
        driver=(
            DriverView(lat=found.driver.lat, lng=found.driver.lng, at=found.driver.at)
            if found.driver
            else None
        ),
        proof=(
            ProofView(
                delivered_at=order.delivered_at,
                photo_urls=[photo["url"] for photo in photos],
            )
            if order.status is ShipmentStatus.DELIVERED and order.delivered_at is not None
            else None
        ),
        timeline=[
            TimelineEntryView(at=e.at, status=e.status, message=e.message) for e in found.timeline
        ],
    )


async def _found(db: DbDep, token: str) -> usecases.CustomerOrder:
    async with db.begin() as tx:
        found = await usecases.order_for_tracking(tx, token, clock.now())
    if found is None:
        raise NotFound("tracking page", "This tracking link is unknown; check the link you got.")
    return found


@router.get(
    "/{token}",
    summary="The shopper's tracking page (HTML)",
    response_class=Response,
    responses={
        200: {"content": {"text/html": {"example": '<!doctype html><html lang="en">...</html>'}}},
        404: PROBLEM,
        422: PROBLEM,
    },
)
async def tracking_page(token: Token, db: DbDep, outgoing: OutgoingDep) -> Response:
    found = await _found(db, token)
    window = window_of(found.order)
    page = _asset("page.html").format(
        status_url=html.escape(f"/t/{token}/status"),
        message=html.escape(CUSTOMER_MESSAGES[found.order.status]),
        window_start=html.escape(window["starts_at"]),
        window_end=html.escape(window["ends_at"]),
    )
    return Response(
        page,
        media_type="text/html; charset=utf-8",
        headers={**_PAGE_HEADERS, "Content-Security-Policy": _csp(outgoing)},
    )


@router.get(
    "/{token}/status",
    summary="What the tracking page shows: status, promise, ETA, the driver once away from the "
    "mall, the proof after delivery",
    responses={
        200: {"content": {"application/json": {"example": _STATUS_EXAMPLE}}},
        404: PROBLEM,
        422: PROBLEM,
    },
)
async def tracking_status(
    token: Token, db: DbDep, outgoing: OutgoingDep, response: Response
) -> TrackingView:
    found = await _found(db, token)
    response.headers.update(_PAGE_HEADERS)
    return tracking_view(found, outgoing, clock.now())


@router.get(
    "/assets/{name}",
    summary="The tracking page's script and style",
    response_class=Response,
    responses={
        200: {"content": {"text/javascript": {"example": '"use strict";'}}},
        404: PROBLEM,
    },
)
async def tracking_asset(
    name: Annotated[str, Path(examples=["tracking.js"])],
) -> Response:
    if name not in ASSETS:
        raise NotFound("asset")
    return Response(
        _asset(name),
        media_type=ASSETS[name],
        headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
    )
