"""Operator endpoints: a mall's pool, a route, and its offer visibility log.

Internal (operators only, never customers): they name stores and drivers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path
from pydantic import BaseModel

from dispatch_service import usecases
from dispatch_service.api.deps import OperatorDep, PoliciesDep
from dispatch_service.api.offer_log import OfferLogView, offer_log
from dispatch_service.domain.route import Route
from dispatch_service.store import routes, shipments
from shared import clock
from shared.api import DbDep
from shared.events.dispatch import RouteStop
from shared.problems import PROBLEM, NotFound
from shared.text import ID_PATTERN

router = APIRouter(prefix="/v1/dispatch", tags=["internal"])

AUTH_PROBLEMS: dict[int | str, dict[str, object]] = {401: PROBLEM}

_MALL = "fashion-show-las-vegas"
_STORE = "Harbor Outfitters at Fashion Show Mall"
_ROUTE_ID = "5d0e7b3a-9c41-4f2e-8b6d-0a1f2e3d4c5b"
_ORDER_ID = "3f2b9c1e-8d4a-4e6b-9a57-1c0d2e3f4a5b"
_SHIPMENT_ID = "7c1e4a92-5b3d-4f08-a6e1-2d9f0b8c7e15"
_DRIVER_ID = "a8f3c2d1-6e5b-4a79-8c0d-1e2f3a4b5c6d"
_OFFER_ID = "c4b2a1f0-3e9d-4c8b-a7f6-5e4d3c2b1a09"

MallId = Annotated[str, Path(max_length=100, pattern=ID_PATTERN, examples=[_MALL])]
RouteId = Annotated[UUID, Path(examples=[_ROUTE_ID])]


def _ok(example: Any) -> dict[int | str, dict[str, object]]:
    return {200: {"content": {"application/json": {"example": example}}}}


POOL_EXAMPLE: dict[str, Any] = {
    "mall_id": _MALL,
    "shipments": [
        {
            "shipment_id": _SHIPMENT_ID,
            "order_id": _ORDER_ID,
            "store_id": "store-4e1d2c3b4a59",
            "store_name": _STORE,
            "package_count": 2,
            "ready_at": "2026-11-26T03:12:05Z",
            "deliver_by": "2026-11-26T04:30:00Z",
            "dropoff_area": "Las Vegas 89104",
            "is_at_risk": False,
        }
    ],
}
ROUND_EXAMPLE: dict[str, Any] = {
    "mall_id": _MALL,
    "planned_route_ids": [_ROUTE_ID],
    "left_in_pool": 0,
    "flagged_at_risk": 0,
}
_STOP: dict[str, Any] = {
    "shipment_id": _SHIPMENT_ID,
    "order_id": _ORDER_ID,
    "store_id": "store-4e1d2c3b4a59",
    "store_name": _STORE,
    "area": "Las Vegas 89104",
    "package_count": 2,
    "deliver_by": "2026-11-26T04:30:00Z",
}
ROUTE_EXAMPLE: dict[str, Any] = {
    "route_id": _ROUTE_ID,
    "mall_id": _MALL,
    "status": "assigned",
    "stops": [
        {
            **_STOP,
            "stop_id": "e1d2c3b4-a5f6-4e7d-8c9b-0a1b2c3d4e5f",
            "sequence": 1,
            "kind": "pickup",
            "lat": 36.127,
            "lng": -115.1711,
            "eta": "2026-11-26T03:25:00Z",
            "status": "picked_up",
        },
        {
            **_STOP,
            "stop_id": "f2e3d4c5-b6a7-4f8e-9d0c-1b2c3d4e5f60",
            "sequence": 2,
            "kind": "dropoff",
            "lat": 36.1605,
            "lng": -115.1237,
            "eta": "2026-11-26T03:55:00Z",
            "status": "pending",
        },
    ],
    "planned_miles": 6.4,
    "planned_minutes": 42,
    "max_load": 2,
    "depart_at": "2026-11-26T03:20:00Z",
    "latest_start_at": "2026-11-26T03:40:00Z",
    "block_type": "short",
    "block_minutes": 60,
    "hourly_floor_cents": 2100,
    "base_pay_cents": 1450,
    "currency": "USD",
    "driver_id": _DRIVER_ID,
    "pay_cents": 1450,
    "assigned_at": "2026-11-26T03:14:40Z",
    "withdrawn_reason": None,
    "created_at": "2026-11-26T03:13:00Z",
}
OFFER_LOG_EXAMPLE: dict[str, Any] = {
    "route_id": _ROUTE_ID,
    "route_status": "assigned",
    "currency": "USD",
    "rounds": [
        {
            "offer_id": _OFFER_ID,
            "round": 1,
            "pay_cents": 1450,
            "hourly_floor_cents": 2100,
            "surge_level": 0,
            "radius_m": 5000.0,
            "status": "accepted",
            "created_at": "2026-11-26T03:13:05Z",
            "expires_at": "2026-11-26T03:15:05Z",
            "closed_at": "2026-11-26T03:14:40Z",
            "shown_to": [
                {
                    "driver_id": _DRIVER_ID,
                    "shown_at": "2026-11-26T03:13:06Z",
                    "pay_cents": 1450,
                    "distance_m": 1820.5,
                    "answer": "accepted",
                    "answered_at": "2026-11-26T03:14:40Z",
                },
                {
                    "driver_id": "b9e8d7c6-5f4a-4b3c-9d2e-1f0a9b8c7d6e",
                    "shown_at": "2026-11-26T03:13:06Z",
                    "pay_cents": 1450,
                    "distance_m": 3410.0,
                    "answer": "taken",
                    "answered_at": "2026-11-26T03:14:40Z",
                },
            ],
        }
    ],
}


class PoolShipmentView(BaseModel):
    shipment_id: UUID
    order_id: UUID
    store_id: str
    store_name: str
    package_count: int
    ready_at: datetime
    deliver_by: datetime
    dropoff_area: str
    is_at_risk: bool


class PoolView(BaseModel):
    mall_id: str
    shipments: list[PoolShipmentView]


class StopView(BaseModel):
    stop_id: UUID
    sequence: int
    kind: str
    shipment_id: UUID
    order_id: UUID
    store_id: str
    store_name: str
    lat: float
    lng: float
    area: str
    package_count: int
    eta: datetime
    deliver_by: datetime
    # pending until the driver service reports otherwise (picked_up, delivered, cancelled...).
    status: str

    @classmethod
    def from_stop(cls, stop: RouteStop, status: str) -> StopView:
        return cls(
            stop_id=stop.stop_id,
            sequence=stop.sequence,
            kind=stop.kind.value,
            shipment_id=stop.shipment_id,
            order_id=stop.order_id,
            store_id=stop.store_id,
            store_name=stop.store_name,
            lat=stop.location.lat,
            lng=stop.location.lng,
            area=stop.area,
            package_count=stop.package_count,
            eta=stop.eta,
            deliver_by=stop.deliver_by,
            status=status,
        )


class RouteView(BaseModel):
    route_id: UUID
    mall_id: str
    status: str
    stops: list[StopView]
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
    driver_id: UUID | None
    pay_cents: int | None
    assigned_at: datetime | None
    withdrawn_reason: str | None
    created_at: datetime

    @classmethod
    def from_record(cls, route: Route) -> RouteView:
        return cls(
            route_id=route.route_id,
            mall_id=route.mall_id,
            status=route.status.value,
            stops=[StopView.from_stop(stop, route.status_of(stop).value) for stop in route.stops],
            planned_miles=route.planned_miles,
            planned_minutes=route.planned_minutes,
            max_load=route.max_load,
            depart_at=route.depart_at,
            latest_start_at=route.latest_start_at,
            block_type=route.block_type,
            block_minutes=route.block_minutes,
            hourly_floor_cents=route.hourly_floor_cents,
            base_pay_cents=route.base_pay_cents,
            currency=route.currency,
            driver_id=route.driver_id,
            pay_cents=route.pay_cents,
            assigned_at=route.assigned_at,
            withdrawn_reason=route.withdrawn_reason,
            created_at=route.created_at,
        )


class RoundView(BaseModel):
    mall_id: str
    planned_route_ids: list[UUID]
    left_in_pool: int
    flagged_at_risk: int


@router.get(
    "/malls/{mall_id}/pool",
    summary="Shipments of a mall waiting for a route",
    responses={**_ok(POOL_EXAMPLE), **AUTH_PROBLEMS},
)
async def get_pool(mall_id: MallId, db: DbDep, _operator: OperatorDep) -> PoolView:
    async with db.begin() as tx:
        pool = await shipments.pooled(tx, mall_id)
    return PoolView(
        mall_id=mall_id,
        shipments=[
            PoolShipmentView(
                shipment_id=s.shipment_id,
                order_id=s.order_id,
                store_id=s.store_id,
                store_name=s.store_name,
                package_count=s.package_count,
                ready_at=s.ready_at,
                deliver_by=s.deliver_by,
                dropoff_area=s.dropoff_area,
                is_at_risk=s.is_flagged_at_risk,
            )
            for s in pool
        ],
    )


@router.post(
    "/malls/{mall_id}/rounds",
    summary="Run a batching round for a mall now, without waiting for the timer",
    responses={**_ok(ROUND_EXAMPLE), **AUTH_PROBLEMS},
)
async def run_round(
    mall_id: MallId, db: DbDep, policies: PoliciesDep, _operator: OperatorDep
) -> RoundView:
    report = await usecases.plan_mall(db, mall_id, clock.now(), policies)
    return RoundView(
        mall_id=mall_id,
        planned_route_ids=report.planned,
        left_in_pool=report.dropped,
        flagged_at_risk=len(report.flagged_at_risk),
    )


@router.get(
    "/routes/{route_id}",
    summary="A route: its stops, pay and status",
    responses={**_ok(ROUTE_EXAMPLE), **AUTH_PROBLEMS, 404: PROBLEM},
)
async def get_route(route_id: RouteId, db: DbDep, _operator: OperatorDep) -> RouteView:
    async with db.begin() as tx:
        route = await routes.get(tx, route_id)
    if route is None:
        raise NotFound("route")
    return RouteView.from_record(route)


@router.get(
    "/routes/{route_id}/offers",
    summary="The offer visibility log: who was shown the route, when, at what pay, the answer",
    responses={**_ok(OFFER_LOG_EXAMPLE), **AUTH_PROBLEMS, 404: PROBLEM},
)
async def get_route_offers(route_id: RouteId, db: DbDep, _operator: OperatorDep) -> OfferLogView:
    return await offer_log(db, route_id)
