"""A mall's board as the console page and its stream see it."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from dispatch_service.api.console.access import CURRENCY
from dispatch_service.api.console.views import (
    BoardDriverView,
    BoardRouteView,
    BoardStopView,
    BoardView,
    DayView,
    ExceptionView,
    MallView,
    SameDayView,
    StoreView,
    WaitingShipmentView,
)
from dispatch_service.board import Board
from dispatch_service.console_feed import BoardUnavailable, ConsoleFeeds
from shared.problems import ProblemError


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


def board_unavailable() -> ProblemError:
    return ProblemError(
        503,
        "board_unavailable",
        "The mall's board could not be loaded; retry, and see the dispatch log if it lasts.",
    )


async def board_snapshot(feeds: ConsoleFeeds, mall_id: str) -> tuple[str, dict[str, Any]]:
    try:
        return await feeds.snapshot(mall_id)
    except BoardUnavailable:
        raise board_unavailable() from None
