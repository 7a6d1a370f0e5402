"""The operator console's API: sign-in, each mall's board and its live changes (Server-Sent
Events), the offer log of a route, the audit log, and the operators' actions.

Internal (operators only, never customers): it names stores, drivers and malls. Every
`/v1/console/` endpoint answers 401 without an operator token, sent as a bearer token or in
the cookie the sign-in sets for the page.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Coroutine
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import BaseModel, ConfigDict, Field

from dispatch_service import usecases
from dispatch_service.api.deps import PoliciesDep, SettingsDep
from dispatch_service.api.operators import OfferLogView, offer_round_view
from dispatch_service.auth import InvalidToken, operator_subject
from dispatch_service.board import Board
from dispatch_service.console_feed import BoardUnavailable, ConsoleFeeds
from dispatch_service.peers import PeerRefused, Peers, PeerUnavailable
from dispatch_service.settings import DispatchSettings
from dispatch_service.store import console, routes
from dispatch_service.store.console import ActionRecord
from shared import clock
from shared.api import DbDep, Unauthorized, from_app_state
from shared.malls import Mall, pilot_malls
from shared.problems import PROBLEM, NotFound, ProblemError
from shared.text import RequestModel

COOKIE = "mth_console"
CURRENCY = "USD"

_MALL = "fashion-show-las-vegas"
_ROUTE_ID = "5d0e7b3a-9c41-4f2e-8b6d-0a1f2e3d4c5b"
_ORDER_ID = "3f2b9c1e-8d4a-4e6b-9a57-1c0d2e3f4a5b"
_SHIPMENT_ID = "7c1e4a92-5b3d-4f08-a6e1-2d9f0b8c7e15"
_DRIVER_ID = "a8f3c2d1-6e5b-4a79-8c0d-1e2f3a4b5c6d"
_ACTION_ID = "0f9e8d7c-6b5a-4c3d-8e2f-1a0b9c8d7e6f"
_STORE_ID = "store-4e1d2c3b4a59"
_STORE = "Harbor Outfitters at Fashion Show Mall"
_NOW = "2026-11-25T19:31:05Z"
_VERSION = "3fa2c1d0.42"

MallId = Annotated[str, Path(examples=[_MALL])]
RouteId = Annotated[UUID, Path(examples=[_ROUTE_ID])]


def _token_of(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token:
        return token
    return request.cookies.get(COOKIE, "")


def _subject(settings: DispatchSettings, token: str) -> str:
    if not token:
        raise Unauthorized(
            "Sign in with an operator token (`python -m dispatch_service.dev token`), or send "
            "it as Authorization: Bearer <token>.",
        )
    try:
        return operator_subject(settings, token, clock.now())
    except InvalidToken:
        raise Unauthorized(
            "The operator token is invalid or expired; sign in with a new one.",
            code="invalid_token",
        ) from None


async def console_operator(request: Request, settings: SettingsDep) -> str:
    return _subject(settings, _token_of(request))


ConsoleOperator = Annotated[str, Depends(console_operator)]


get_feeds = from_app_state("console_feeds", ConsoleFeeds)
get_peers = from_app_state("peers", Peers)

FeedsDep = Annotated[ConsoleFeeds, Depends(get_feeds)]
PeersDep = Annotated[Peers, Depends(get_peers)]

AUTH: dict[int | str, dict[str, Any]] = {401: PROBLEM}

# Signing in is the one endpoint that takes the token in its body.
session_router = APIRouter(prefix="/v1/console", tags=["console"])
# Everything else checks the token before anything else, so a stranger learns nothing.
router = APIRouter(prefix="/v1/console", tags=["console"], dependencies=[Depends(console_operator)])


def _ok(example: Any) -> dict[int | str, dict[str, Any]]:
    return {200: {"content": {"application/json": {"example": example}}}}


def pilot_mall(mall_id: str) -> Mall:
    for mall in pilot_malls():
        if mall.id == mall_id:
            return mall
    raise NotFound("mall", "No such mall; the console lists the pilot malls at /v1/console/malls.")


async def known_mall(mall_id: MallId) -> Mall:
    return pilot_mall(mall_id)


# --- views ------------------------------------------------------------------------------------


class SessionRequest(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"token": "eyJhbGciOiJIUzI1NiJ9.e30.c2ln"}]}
    )

    # Empty is a sign-in without a token: refused like a wrong one (401), not as bad input.
    token: str = Field("", max_length=4096)


class SessionView(BaseModel):
    operator: str
    tile_url: str
    tile_attribution: str
    currency: str


SESSION_EXAMPLE: dict[str, Any] = {
    "operator": "maria",
    "tile_url": "",
    "tile_attribution": "",
    "currency": CURRENCY,
}


class SameDayView(BaseModel):
    status: str
    delay_minutes: int
    reason: str
    is_paused_by_operator: bool


class DayView(BaseModel):
    orders: int
    delivered: int
    on_time_pct: float | None
    median_minutes_to_door: float | None
    drivers_online: int
    driver_hours: float
    orders_per_driver_hour: float | None
    pay_cents: int
    pay_per_hour_cents: int | None
    currency: str


class MallView(BaseModel):
    id: str
    name: str
    address: str
    lat: float
    lng: float
    timezone: str
    # [lat, lng] corners: the hull of the mall's stores, padded.
    outline: list[tuple[float, float]]


class StoreView(BaseModel):
    id: str
    name: str
    lat: float
    lng: float
    prep_minutes: int
    is_active: bool


class WaitingShipmentView(BaseModel):
    id: UUID
    order_id: UUID
    store_id: str
    store_name: str
    package_count: int
    ready_at: datetime
    deliver_by: datetime
    dropoff_area: str
    lat: float
    lng: float


class BoardStopView(BaseModel):
    sequence: int
    kind: str
    state: str
    shipment_id: UUID
    order_id: UUID
    store_id: str
    store_name: str
    area: str
    lat: float
    lng: float
    eta: datetime
    deliver_by: datetime


class BoardRouteView(BaseModel):
    id: UUID
    phase: str
    driver_id: UUID | None
    pay_cents: int
    currency: str
    offer_rounds: int
    planned_miles: float
    planned_minutes: int
    depart_at: datetime
    latest_start_at: datetime
    stops: list[BoardStopView]


class BoardDriverView(BaseModel):
    id: UUID
    lat: float | None
    lng: float | None
    position_at: datetime | None
    is_stale: bool
    route_id: UUID | None
    capacity_packages: int


class ExceptionView(BaseModel):
    id: str
    kind: str
    severity: str
    title: str
    detail: str
    due_at: datetime | None
    shipment_id: UUID | None
    order_id: UUID | None
    route_id: UUID | None
    driver_id: UUID | None
    store_id: str | None


class BoardView(BaseModel):
    version: str
    now: datetime
    mall: MallView
    same_day: SameDayView
    day: DayView
    stores: list[StoreView]
    shipments: list[WaitingShipmentView]
    routes: list[BoardRouteView]
    drivers: list[BoardDriverView]
    exceptions: list[ExceptionView]


class BoardSections(BaseModel):
    mall: MallView | None = None
    same_day: SameDayView | None = None
    day: DayView | None = None


class BoardItems(BaseModel):
    stores: list[StoreView] | None = None
    shipments: list[WaitingShipmentView] | None = None
    routes: list[BoardRouteView] | None = None
    drivers: list[BoardDriverView] | None = None
    exceptions: list[ExceptionView] | None = None


class BoardRemovals(BaseModel):
    stores: list[str] | None = None
    shipments: list[str] | None = None
    routes: list[str] | None = None
    drivers: list[str] | None = None
    exceptions: list[str] | None = None


class BoardDeltaView(BaseModel):
    """The data of a `delta` event: only what changed since the previous version."""

    version: str
    now: datetime
    set: BoardSections = Field(default_factory=BoardSections)
    upsert: BoardItems = Field(default_factory=BoardItems)
    remove: BoardRemovals = Field(default_factory=BoardRemovals)


class MallSummaryView(BaseModel):
    id: str
    name: str
    timezone: str
    same_day: SameDayView
    day: DayView
    exceptions: int
    critical: int
    version: str


class MallListView(BaseModel):
    malls: list[MallSummaryView]


class ActionView(BaseModel):
    action_id: UUID
    at: datetime
    operator: str
    action: str
    mall_id: str | None
    target_id: str | None
    outcome: str
    message: str
    detail: dict[str, Any]

    @classmethod
    def of(cls, record: ActionRecord) -> ActionView:
        return cls(
            action_id=record.action_id,
            at=record.at,
            operator=record.operator,
            action=record.action,
            mall_id=record.mall_id,
            target_id=record.target_id,
            outcome=record.outcome,
            message=record.message,
            detail=record.detail,
        )


class ActionLogView(BaseModel):
    actions: list[ActionView]


class PauseRequest(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"note": "fire alarm in the mall"}]})

    note: str = Field("", max_length=200)


class ReofferRequest(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"boost_pct": 20}]})

    boost_pct: int = Field(ge=1, le=100, description="pay raise on top of any surge, in percent")


class CancelShipmentRequest(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"reason": "customer called: no longer needed", "mall_id": _MALL}]
        }
    )

    reason: str = Field(min_length=1, max_length=200)
    # Which mall's log the action goes to, when dispatch has not heard of the shipment yet.
    mall_id: str | None = None


class DriverOfflineRequest(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"mall_id": _MALL}]})

    # Which mall's log the action goes to.
    mall_id: str | None = None


# --- examples ---------------------------------------------------------------------------------

_SAME_DAY = {
    "status": "open",
    "delay_minutes": 0,
    "reason": "taking same-day orders",
    "is_paused_by_operator": False,
}
_DAY = {
    "orders": 41,
    "delivered": 33,
    "on_time_pct": 93.9,
    "median_minutes_to_door": 52.5,
    "drivers_online": 6,
    "driver_hours": 9.5,
    "orders_per_driver_hour": 3.47,
    "pay_cents": 24700,
    "pay_per_hour_cents": 2600,
    "currency": CURRENCY,
}
_EXCEPTION = {
    "id": f"at_risk:{_SHIPMENT_ID}",
    "kind": "at_risk",
    "severity": "warning",
    "title": "Promise at risk",
    "detail": f"Waiting for a route with 12 min of slack ({_STORE} to Las Vegas 89104)",
    "due_at": "2026-11-25T20:15:00Z",
    "shipment_id": _SHIPMENT_ID,
    "order_id": _ORDER_ID,
    "route_id": None,
    "driver_id": None,
    "store_id": _STORE_ID,
}
_ROUTE = {
    "id": _ROUTE_ID,
    "phase": "on_the_road",
    "driver_id": _DRIVER_ID,
    "pay_cents": 1450,
    "currency": CURRENCY,
    "offer_rounds": 1,
    "planned_miles": 6.4,
    "planned_minutes": 42,
    "depart_at": "2026-11-25T19:20:00Z",
    "latest_start_at": "2026-11-25T19:40:00Z",
    "stops": [
        {
            "sequence": 0,
            "kind": "pickup",
            "state": "picked_up",
            "shipment_id": _SHIPMENT_ID,
            "order_id": _ORDER_ID,
            "store_id": _STORE_ID,
            "store_name": _STORE,
            "area": "Las Vegas 89104",
            "lat": 36.127,
            "lng": -115.1711,
            "eta": "2026-11-25T19:25:00Z",
            "deliver_by": "2026-11-25T20:30:00Z",
        },
        {
            "sequence": 1,
            "kind": "dropoff",
            "state": "pending",
            "shipment_id": _SHIPMENT_ID,
            "order_id": _ORDER_ID,
            "store_id": _STORE_ID,
            "store_name": _STORE,
            "area": "Las Vegas 89104",
            "lat": 36.1605,
            "lng": -115.1237,
            "eta": "2026-11-25T19:55:00Z",
            "deliver_by": "2026-11-25T20:30:00Z",
        },
    ],
}
_DRIVER = {
    "id": _DRIVER_ID,
    "lat": 36.1402,
    "lng": -115.1503,
    "position_at": "2026-11-25T19:30:58Z",
    "is_stale": False,
    "route_id": _ROUTE_ID,
    "capacity_packages": 15,
}
BOARD_EXAMPLE: dict[str, Any] = {
    "version": _VERSION,
    "now": _NOW,
    "mall": {
        "id": _MALL,
        "name": "Fashion Show Mall",
        "address": "3200 S Las Vegas Blvd, Las Vegas, NV 89109",
        "lat": 36.1272,
        "lng": -115.1706,
        "timezone": "America/Los_Angeles",
        "outline": [[36.1265, -115.1712], [36.1265, -115.1699], [36.1279, -115.1699]],
    },
    "same_day": _SAME_DAY,
    "day": _DAY,
    "stores": [
        {
            "id": _STORE_ID,
            "name": _STORE,
            "lat": 36.127,
            "lng": -115.1711,
            "prep_minutes": 20,
            "is_active": True,
        }
    ],
    "shipments": [
        {
            "id": _SHIPMENT_ID,
            "order_id": _ORDER_ID,
            "store_id": _STORE_ID,
            "store_name": _STORE,
            "package_count": 1,
            "ready_at": "2026-11-25T19:28:10Z",
            "deliver_by": "2026-11-25T20:15:00Z",
            "dropoff_area": "Las Vegas 89104",
            "lat": 36.1605,
            "lng": -115.1237,
        }
    ],
    "routes": [_ROUTE],
    "drivers": [_DRIVER],
    "exceptions": [_EXCEPTION],
}
STREAM_EXAMPLE = (
    f"event: delta\nid: {_VERSION}\n"
    'data: {"version": "3fa2c1d0.42", "now": "2026-11-25T19:31:05Z", "set": {}, '
    '"upsert": {"drivers": [{"id": "a8f3c2d1-6e5b-4a79-8c0d-1e2f3a4b5c6d", "lat": 36.1411, '
    '"lng": -115.1498, "position_at": "2026-11-25T19:31:03Z", "is_stale": false, '
    '"route_id": "5d0e7b3a-9c41-4f2e-8b6d-0a1f2e3d4c5b", "capacity_packages": 15}]}, '
    '"remove": {"shipments": ["7c1e4a92-5b3d-4f08-a6e1-2d9f0b8c7e15"]}}\n\n'
    'event: clock\ndata: {"version": "3fa2c1d0.42", "now": "2026-11-25T19:31:10Z"}\n\n'
)
_ACTION = {
    "action_id": _ACTION_ID,
    "at": _NOW,
    "operator": "maria",
    "action": "pause_same_day",
    "mall_id": _MALL,
    "target_id": _MALL,
    "outcome": "done",
    "message": "Same-day paused; the catalog stops promising today here.",
    "detail": {"note": "fire alarm in the mall"},
}
_OFFER_LOG = {
    "route_id": _ROUTE_ID,
    "route_status": "offering",
    "currency": CURRENCY,
    "rounds": [
        {
            "offer_id": "c4b2a1f0-3e9d-4c8b-a7f6-5e4d3c2b1a09",
            "round": 1,
            "pay_cents": 1450,
            "hourly_floor_cents": 2100,
            "surge_level": 0,
            "radius_m": 8000.0,
            "status": "expired",
            "created_at": "2026-11-25T19:13:05Z",
            "expires_at": "2026-11-25T19:14:05Z",
            "closed_at": "2026-11-25T19:14:05Z",
            "shown_to": [
                {
                    "driver_id": _DRIVER_ID,
                    "shown_at": "2026-11-25T19:13:06Z",
                    "pay_cents": 1450,
                    "distance_m": 1820.5,
                    "answer": "declined",
                    "answered_at": "2026-11-25T19:13:40Z",
                }
            ],
        }
    ],
}


# --- rendering --------------------------------------------------------------------------------


def render_board(board: Board, version: str = "") -> dict[str, Any]:
    """The board as the page and the stream see it (JSON-ready)."""
    stale = board.stale_driver_ids
    view = BoardView(
        version=version,
        now=board.now,
        mall=MallView(
            id=board.mall.id,
            name=board.mall.name,
            address=board.mall.address,
            lat=board.mall.lat,
            lng=board.mall.lng,
            timezone=board.mall.timezone,
            outline=[(p.lat, p.lng) for p in board.outline],
        ),
        same_day=SameDayView(
            status=board.same_day.status.value,
            delay_minutes=board.same_day.delay_minutes,
            reason=board.same_day.reason,
            is_paused_by_operator=board.same_day.is_paused_by_operator,
        ),
        day=DayView(**asdict(board.day), currency=CURRENCY),
        stores=[
            StoreView(
                id=s.store_id,
                name=s.name,
                lat=s.point.lat,
                lng=s.point.lng,
                prep_minutes=s.prep_minutes,
                is_active=s.is_active,
            )
            for s in board.stores
        ],
        shipments=[
            WaitingShipmentView(
                id=s.shipment_id,
                order_id=s.order_id,
                store_id=s.store_id,
                store_name=s.store_name,
                package_count=s.package_count,
                ready_at=s.ready_at,
                deliver_by=s.deliver_by,
                dropoff_area=s.dropoff_area,
                lat=s.dropoff.lat,
                lng=s.dropoff.lng,
            )
            for s in board.pool
        ],
        routes=[
            BoardRouteView(
                id=r.view.route_id,
                phase=r.view.phase.value,
                driver_id=r.view.driver_id,
                pay_cents=r.view.pay_cents,
                currency=r.route.currency,
                offer_rounds=r.view.offer_rounds,
                planned_miles=r.route.planned_miles,
                planned_minutes=r.route.planned_minutes,
                depart_at=r.route.depart_at,
                latest_start_at=r.route.latest_start_at,
                stops=[
                    BoardStopView(
                        sequence=stop.sequence,
                        kind=stop.kind.value,
                        state=state.value,
                        shipment_id=stop.shipment_id,
                        order_id=stop.order_id,
                        store_id=stop.store_id,
                        store_name=stop.store_name,
                        area=stop.area,
                        lat=stop.location.lat,
                        lng=stop.location.lng,
                        eta=stop.eta,
                        deliver_by=stop.deliver_by,
                    )
                    for stop, state in zip(r.view.stops, r.view.stop_states, strict=True)
                ],
            )
            for r in board.routes
        ],
        drivers=[
            BoardDriverView(
                id=d.driver_id,
                lat=d.position.lat if d.position else None,
                lng=d.position.lng if d.position else None,
                position_at=d.position_at,
                is_stale=d.driver_id in stale,
                route_id=d.current_route_id,
                capacity_packages=d.capacity_packages,
            )
            for d in board.drivers
        ],
        exceptions=[
            ExceptionView(
                id=e.id,
                kind=e.kind.value,
                severity=e.severity.value,
                title=e.title,
                detail=e.detail,
                due_at=e.due_at,
                shipment_id=e.shipment_id,
                order_id=e.order_id,
                route_id=e.route_id,
                driver_id=e.driver_id,
                store_id=e.store_id,
            )
            for e in board.exceptions
        ],
    )
    return view.model_dump(mode="json")


def _unavailable() -> ProblemError:
    return ProblemError(
        503,
        "board_unavailable",
        "The mall's board could not be loaded; retry, and see the dispatch log if it lasts.",
    )


async def _board(feeds: ConsoleFeeds, mall_id: str) -> tuple[str, dict[str, Any]]:
    try:
        return await feeds.snapshot(mall_id)
    except BoardUnavailable:
        raise _unavailable() from None


# --- session ----------------------------------------------------------------------------------


@session_router.post(
    "/session",
    summary="Sign in: checks an operator token and keeps it in a cookie for the console page",
    responses={**_ok(SESSION_EXAMPLE), **AUTH},
)
async def sign_in(
    request: Request,
    response: Response,
    settings: SettingsDep,
    body: SessionRequest | None = None,
) -> SessionView:
    token = body.token.strip() if body else ""
    operator = _subject(settings, token)
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/v1/console",
    )
    return _session(settings, operator)


def _session(settings: DispatchSettings, operator: str) -> SessionView:
    return SessionView(
        operator=operator,
        tile_url=settings.console_tile_url,
        tile_attribution=settings.console_tile_attribution,
        currency=CURRENCY,
    )


@router.get(
    "/session",
    summary="Who is signed in, and the map's settings",
    responses={**_ok(SESSION_EXAMPLE), **AUTH},
)
async def session(settings: SettingsDep, operator: ConsoleOperator) -> SessionView:
    return _session(settings, operator)


@router.delete(
    "/session", status_code=204, summary="Sign out: forgets the cookie", responses={**AUTH}
)
async def sign_out() -> Response:
    response = Response(status_code=204)
    response.delete_cookie(COOKIE, path="/v1/console")
    return response


# --- boards -----------------------------------------------------------------------------------


@router.get(
    "/malls",
    summary="The pilot malls: same-day state, the day so far, how many exceptions",
    responses={
        **_ok(
            {
                "malls": [
                    {
                        "id": _MALL,
                        "name": "Fashion Show Mall",
                        "timezone": "America/Los_Angeles",
                        "same_day": _SAME_DAY,
                        "day": _DAY,
                        "exceptions": 3,
                        "critical": 1,
                        "version": _VERSION,
                    }
                ]
            }
        ),
        **AUTH,
    },
)
async def list_malls(feeds: FeedsDep) -> MallListView:
    summaries = []
    for mall in pilot_malls():
        version, board = await _board(feeds, mall.id)
        summaries.append(
            MallSummaryView(
                id=mall.id,
                name=mall.name,
                timezone=mall.timezone,
                same_day=board["same_day"],
                day=board["day"],
                exceptions=len(board["exceptions"]),
                critical=sum(1 for e in board["exceptions"] if e["severity"] == "critical"),
                version=version,
            )
        )
    return MallListView(malls=summaries)


@router.get(
    "/malls/{mall_id}/board",
    summary="A mall's board: stores, waiting shipments, routes, drivers, exceptions, the day",
    response_model=BoardView,
    responses={**_ok(BOARD_EXAMPLE), **AUTH, 404: PROBLEM},
)
async def get_board(mall_id: MallId, feeds: FeedsDep) -> Response:
    pilot_mall(mall_id)
    try:
        encoded = await feeds.snapshot_json(mall_id)
    except BoardUnavailable:
        raise _unavailable() from None
    # Rendered from BoardView already (render_board): sent as it is, not validated again.
    return Response(encoded, media_type="application/json")


@router.get(
    "/malls/{mall_id}/stream",
    response_class=EventSourceResponse,
    summary="The board's changes as Server-Sent Events: `delta` (what changed since the "
    "version before; never the whole board), `reset` (reload the board), `clock` (still live)",
    responses={
        200: {"content": {"text/event-stream": {"example": STREAM_EXAMPLE}}},
        **AUTH,
        404: PROBLEM,
    },
)
async def stream_board(
    mall_id: MallId,
    # Checked as a dependency: the body of a stream runs after its 200 has been sent.
    _: Annotated[Mall, Depends(known_mall)],
    feeds: FeedsDep,
    settings: SettingsDep,
    after: Annotated[
        str | None,
        Query(description="the board's version the page has", examples=[_VERSION]),
    ] = None,
    last_event_id: Annotated[str | None, Header()] = None,
) -> AsyncIterable[ServerSentEvent]:
    # A reconnecting browser names the last event it saw; it knows better than the URL.
    since = last_event_id or after
    async for message in feeds.stream(mall_id, since, settings.console_stream_seconds):
        yield ServerSentEvent(
            event=message.kind,
            data=message.data,
            id=message.version if message.kind == "delta" else None,
            retry=1000,
        )


@router.get(
    "/malls/{mall_id}/actions",
    summary="The audit log of a mall: every operator action, newest first",
    responses={**_ok({"actions": [_ACTION]}), **AUTH, 404: PROBLEM},
)
async def list_actions(
    mall_id: MallId,
    db: DbDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> ActionLogView:
    pilot_mall(mall_id)
    async with db.begin() as tx:
        found = await console.actions(tx, mall_id, limit)
    return ActionLogView(actions=[ActionView.of(a) for a in found])


@router.get(
    "/routes/{route_id}/offers",
    summary="The offer log of a route: who was offered what pay, when, and the answer",
    responses={**_ok(_OFFER_LOG), **AUTH, 404: PROBLEM},
)
async def route_offers(route_id: RouteId, db: DbDep) -> OfferLogView:
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


# --- actions: each through the service that owns the data, each in the audit log -------------


async def _audit(
    db: DbDep,
    operator: str,
    action: str,
    *,
    mall_id: str | None,
    target_id: str | None,
    detail: dict[str, Any],
    outcome: str,
    message: str,
) -> ActionView:
    now = clock.now()
    async with db.begin() as tx:
        action_id = await console.add_action(
            tx,
            at=now,
            operator=operator,
            action=action,
            mall_id=mall_id,
            target_id=target_id,
            detail=detail,
            outcome=outcome,
            message=message,
        )
    return ActionView(
        action_id=action_id,
        at=now,
        operator=operator,
        action=action,
        mall_id=mall_id,
        target_id=target_id,
        outcome=outcome,
        message=message,
        detail=detail,
    )


ACTION_RESPONSES: dict[int | str, dict[str, Any]] = {
    **_ok(_ACTION),
    **AUTH,
    404: PROBLEM,
    409: PROBLEM,
}


@router.post(
    "/malls/{mall_id}/rounds",
    summary="Run a batching round for the mall now",
    responses=ACTION_RESPONSES,
)
async def run_round(
    mall_id: MallId, db: DbDep, policies: PoliciesDep, operator: ConsoleOperator
) -> ActionView:
    pilot_mall(mall_id)
    report = await usecases.plan_mall(db, mall_id, clock.now(), policies)
    return await _audit(
        db,
        operator,
        "run_round",
        mall_id=mall_id,
        target_id=mall_id,
        detail={
            "planned_route_ids": [str(r) for r in report.planned],
            "left_in_pool": report.dropped,
        },
        outcome="done",
        message=(
            f"{len(report.planned)} route(s) planned, {report.dropped} shipment(s) left waiting."
        ),
    )


async def _set_paused(
    db: DbDep, policies: PoliciesDep, operator: str, mall_id: str, is_paused: bool, note: str
) -> ActionView:
    pilot_mall(mall_id)
    action = "pause_same_day" if is_paused else "resume_same_day"
    now = clock.now()
    async with db.begin() as tx:
        changed = await usecases.set_same_day_paused(
            tx, mall_id, is_paused=is_paused, operator=operator, now=now, policies=policies
        )
        if is_paused:
            message = (
                "Same-day paused; the catalog stops promising today here."
                if changed
                else "Same-day was already paused."
            )
        else:
            message = (
                "Same-day resumed; the catalog promises again as capacity allows."
                if changed
                else "Same-day was not paused."
            )
        detail = {"note": note} if note else {}
        action_id = await console.add_action(
            tx,
            at=now,
            operator=operator,
            action=action,
            mall_id=mall_id,
            target_id=mall_id,
            detail=detail,
            outcome="done" if changed else "unchanged",
            message=message,
        )
    return ActionView(
        action_id=action_id,
        at=now,
        operator=operator,
        action=action,
        mall_id=mall_id,
        target_id=mall_id,
        outcome="done" if changed else "unchanged",
        message=message,
        detail=detail,
    )


@router.post(
    "/malls/{mall_id}/pause",
    summary="Pause same-day for a mall: the catalog stops promising today (capacity event)",
    responses=ACTION_RESPONSES,
)
async def pause_same_day(
    mall_id: MallId,
    db: DbDep,
    policies: PoliciesDep,
    operator: ConsoleOperator,
    body: PauseRequest | None = None,
) -> ActionView:
    return await _set_paused(db, policies, operator, mall_id, True, body.note if body else "")


@router.post(
    "/malls/{mall_id}/resume",
    summary="Resume same-day for a mall, as far as dispatch's capacity allows",
    responses=ACTION_RESPONSES,
)
async def resume_same_day(
    mall_id: MallId,
    db: DbDep,
    policies: PoliciesDep,
    operator: ConsoleOperator,
    body: PauseRequest | None = None,
) -> ActionView:
    return await _set_paused(db, policies, operator, mall_id, False, body.note if body else "")


@router.post(
    "/routes/{route_id}/reoffer",
    summary="Offer a route again now, with a pay boost on top of any surge",
    responses=ACTION_RESPONSES,
)
async def reoffer(
    route_id: RouteId,
    body: ReofferRequest,
    db: DbDep,
    policies: PoliciesDep,
    operator: ConsoleOperator,
) -> ActionView:
    now = clock.now()
    detail: dict[str, Any] = {"boost_pct": body.boost_pct}
    try:
        async with db.begin() as tx:
            route = await usecases.reoffer_with_boost(tx, route_id, body.boost_pct, now, policies)
            offers = await routes.offers_of(tx, route_id)
            detail["pay_cents"] = offers[-1].pay_cents
            message = f"Offered again at {offers[-1].pay_cents / 100:.2f} (+{body.boost_pct}%)."
            action_id = await console.add_action(
                tx,
                at=now,
                operator=operator,
                action="reoffer",
                mall_id=route.mall_id,
                target_id=str(route_id),
                detail=detail,
                outcome="done",
                message=message,
            )
    except usecases.ActionRefused as refused:
        if refused.code == "not_found":
            raise NotFound("route") from None
        async with db.begin() as tx:
            found = await routes.get(tx, route_id)
        await _audit(
            db,
            operator,
            "reoffer",
            mall_id=found.mall_id if found else None,
            target_id=str(route_id),
            detail=detail,
            outcome="refused",
            message=refused.detail,
        )
        raise ProblemError(409, refused.code, refused.detail, title="Not possible now") from None
    return ActionView(
        action_id=action_id,
        at=now,
        operator=operator,
        action="reoffer",
        mall_id=route.mall_id,
        target_id=str(route_id),
        outcome="done",
        message=message,
        detail=detail,
    )


async def _through_peer(
    db: DbDep,
    operator: str,
    action: str,
    *,
    mall_id: str | None,
    target_id: str,
    detail: dict[str, Any],
    done_message: str,
    thing: str,
    call: Coroutine[Any, Any, object],
) -> ActionView:
    """Asks the owning service; the audit log records what it answered, yes or no."""
    try:
        await call
    except PeerRefused as refused:
        await _audit(
            db, operator, action, mall_id=mall_id, target_id=target_id, detail=detail,
            outcome="refused", message=f"The {refused.service} refused: {refused.detail}",
        )  # fmt: skip
        if refused.status_code == 404:
            raise NotFound(thing, refused.detail) from None
        raise ProblemError(
            409, "refused", f"The {refused.service} refused: {refused.detail}"
        ) from None
    except PeerUnavailable as failed:
        await _audit(
            db, operator, action, mall_id=mall_id, target_id=target_id, detail=detail,
            outcome="failed", message=f"The {failed.service} is {failed.reason}; retry.",
        )  # fmt: skip
        raise ProblemError(
            502, "peer_unavailable", f"The {failed.service} is {failed.reason}; retry shortly."
        ) from None
    return await _audit(
        db, operator, action, mall_id=mall_id, target_id=target_id, detail=detail,
        outcome="done", message=done_message,
    )  # fmt: skip


@router.post(
    "/shipments/{shipment_id}/cancel",
    summary="Cancel a shipment, through the order service (its store is told, stock released; "
    "after the pickup scan it is returned to its store)",
    responses={**ACTION_RESPONSES, 502: PROBLEM},
)
async def cancel_shipment(
    shipment_id: Annotated[UUID, Path(examples=[_SHIPMENT_ID])],
    body: CancelShipmentRequest,
    db: DbDep,
    peers: PeersDep,
    operator: ConsoleOperator,
) -> ActionView:
    async with db.begin() as tx:
        mall_id = await console.mall_of_shipment(tx, shipment_id) or body.mall_id
    return await _through_peer(
        db,
        operator,
        "cancel_shipment",
        mall_id=mall_id,
        target_id=str(shipment_id),
        detail={"reason": body.reason},
        done_message=(
            "Shipment cancelled by the order service (returned to its store if already picked "
            "up); its store is told."
        ),
        thing="shipment",
        call=peers.cancel_shipment(shipment_id, body.reason),
    )


@router.post(
    "/drivers/{driver_id}/offline",
    summary="Take a driver who stopped reporting offline, through the driver service",
    responses={**ACTION_RESPONSES, 502: PROBLEM},
)
async def take_driver_offline(
    driver_id: Annotated[UUID, Path(examples=[_DRIVER_ID])],
    db: DbDep,
    peers: PeersDep,
    operator: ConsoleOperator,
    body: DriverOfflineRequest | None = None,
) -> ActionView:
    return await _through_peer(
        db,
        operator,
        "driver_offline",
        mall_id=body.mall_id if body else None,
        target_id=str(driver_id),
        detail={},
        done_message="Driver taken offline by the driver service; no more offers for them.",
        thing="driver",
        call=peers.take_driver_offline(driver_id),
    )
