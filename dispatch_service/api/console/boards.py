"""Each mall's board, its live changes (Server-Sent Events), the audit log and a route's offers."""

from __future__ import annotations

from collections.abc import AsyncIterable
from typing import Annotated

from fastapi import Depends, Header, Query, Response
from fastapi.sse import EventSourceResponse, ServerSentEvent

from dispatch_service.api.console.access import (
    AUTH,
    FeedsDep,
    ok_example,
    operator_router,
    pilot_mall,
)
from dispatch_service.api.console.examples import (
    ACTION,
    BOARD_EXAMPLE,
    DAY,
    MALL,
    OFFER_LOG,
    SAME_DAY,
    STREAM_EXAMPLE,
    VERSION,
)
from dispatch_service.api.console.rendering import board_snapshot, board_unavailable
from dispatch_service.api.console.views import (
    ActionLogView,
    ActionView,
    BoardView,
    MallId,
    MallListView,
    MallSummaryView,
    RouteId,
    known_mall,
)
from dispatch_service.api.deps import SettingsDep
from dispatch_service.api.offer_log import OfferLogView, offer_log
from dispatch_service.console_feed import BoardUnavailable
from dispatch_service.store import console
from shared.api import DbDep
from shared.malls import Mall, pilot_malls
from shared.problems import PROBLEM

router = operator_router()


@router.get(
    "/malls",
    summary="The pilot malls: same-day state, the day so far, how many exceptions",
    responses={
        **ok_example(
            {
                "malls": [
                    {
                        "id": MALL,
                        "name": "Fashion Show Mall",
                        "timezone": "America/Los_Angeles",
                        "same_day": SAME_DAY,
                        "day": DAY,
                        "exceptions": 3,
                        "critical": 1,
                        "version": VERSION,
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
        version, board = await board_snapshot(feeds, mall.id)
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
    responses={**ok_example(BOARD_EXAMPLE), **AUTH, 404: PROBLEM},
)
async def get_board(mall_id: MallId, feeds: FeedsDep) -> Response:
    pilot_mall(mall_id)
    try:
        encoded = await feeds.snapshot_json(mall_id)
    except BoardUnavailable:
        raise board_unavailable() from None
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
        Query(description="the board's version the page has", examples=[VERSION]),
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
    responses={**ok_example({"actions": [ACTION]}), **AUTH, 404: PROBLEM},
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
    responses={**ok_example(OFFER_LOG), **AUTH, 404: PROBLEM},
)
async def route_offers(route_id: RouteId, db: DbDep) -> OfferLogView:
    return await offer_log(db, route_id)
