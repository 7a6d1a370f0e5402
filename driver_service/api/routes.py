from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, File, Form, Path, UploadFile
from pydantic import BaseModel, ConfigDict, Field

from driver_service import usecases
from driver_service.api.deps import DriverDep, SettingsDep
from driver_service.domain.errors import PinMismatch
from driver_service.domain.route import Route
from driver_service.domain.stop import Stop
from shared import clock
from shared.api import DbDep
from shared.events.common import GeoPoint
from shared.events.dispatch import StopKind
from shared.problems import PROBLEM, FieldError, Unprocessable
from shared.text import RequestModel

router = APIRouter(prefix="/v1/routes", tags=["routes"])

# The photo's type is stored with it: a media type, nothing else.
IMAGE_TYPE = re.compile(r"image/[A-Za-z0-9.+-]{1,60}")

_ROUTE_ID = "5d0e7b3a-9c41-4f2e-8b6d-0a1f2e3d4c5b"
_PICKUP_ID = "e1d2c3b4-a5f6-4e7d-8c9b-0a1b2c3d4e5f"
_DROPOFF_ID = "f2e3d4c5-b6a7-4f8e-9d0c-1b2c3d4e5f60"
RouteId = Annotated[UUID, Path(examples=[_ROUTE_ID])]
StopId = Annotated[UUID, Path(examples=[_DROPOFF_ID])]
_LABELS = ["MTH-000184-1", "MTH-000184-2"]
_PICKUP: dict[str, Any] = {
    "stop_id": _PICKUP_ID,
    "sequence": 1,
    "kind": "pickup",
    "status": "picked_up",
    "store_name": "Harbor Outfitters at Fashion Show Mall",
    "address": "Unit 100, 3200 S Las Vegas Blvd, Las Vegas, NV 89109",
    "area": "Las Vegas 89104",
    "instructions": "Pickup counter inside unit 100, level 1; show the order label.",
    "lat": 36.127,
    "lng": -115.1711,
    "labels": _LABELS,
    "package_count": 2,
    "eta": "2026-11-26T03:25:00Z",
    "deliver_by": "2026-11-26T04:30:00Z",
    "needs_pin": False,
    "missing_labels": [],
    "wait_pay_cents": 0,
}
_DROPOFF: dict[str, Any] = {
    **_PICKUP,
    "stop_id": _DROPOFF_ID,
    "sequence": 2,
    "kind": "dropoff",
    "status": "pending",
    "store_name": None,
    "address": "1420 Desert Willow Dr, Apt 12, Las Vegas, NV 89104",
    "instructions": "Gate code 4512; leave with the concierge if no answer.",
    "lat": 36.1605,
    "lng": -115.1237,
    "eta": "2026-11-26T03:55:00Z",
    "needs_pin": True,
}
_ROUTE: dict[str, Any] = {
    "route_id": _ROUTE_ID,
    "offer_id": "c4b2a1f0-3e9d-4c8b-a7f6-5e4d3c2b1a09",
    "pay_cents": 1450,
    "currency": "USD",
    "hourly_floor_cents": 2100,
    "block_minutes": 60,
    "accepted_at": "2026-11-26T03:14:40Z",
    "completed_at": None,
    "stops": [_PICKUP, _DROPOFF],
}
_DELIVERED: dict[str, Any] = {
    **_ROUTE,
    "completed_at": "2026-11-26T03:56:12Z",
    "stops": [_PICKUP, {**_DROPOFF, "status": "delivered"}],
}
_FAILED: dict[str, Any] = {
    **_ROUTE,
    "stops": [
        _PICKUP,
        {**_DROPOFF, "status": "failed"},
        {
            **_PICKUP,
            "stop_id": "a3b4c5d6-e7f8-4a9b-8c0d-e1f2a3b4c5d6",
            "sequence": 3,
            "kind": "return",
            "status": "pending",
            "eta": "2026-11-26T04:20:00Z",
        },
    ],
}


def _ok(example: dict[str, Any]) -> dict[int | str, dict[str, Any]]:
    return {200: {"content": {"application/json": {"example": example}}}}


STEP_ERRORS: dict[int | str, dict[str, Any]] = {
    401: PROBLEM,
    404: PROBLEM,
    409: PROBLEM,
    422: PROBLEM,
}


class StopView(BaseModel):
    stop_id: UUID
    sequence: int
    kind: str
    status: str
    # pickup and return: the store; dropoff: the customer's full address.
    store_name: str | None
    address: str
    area: str
    instructions: str
    lat: float
    lng: float
    labels: list[str]
    package_count: int
    eta: datetime
    deliver_by: datetime
    # A drop-off in the customer's chosen window: hand it over no earlier than this.
    deliver_from: datetime | None = None
    needs_pin: bool
    missing_labels: list[str]
    wait_pay_cents: int

    @classmethod
    def of(cls, row: Stop) -> StopView:
        return cls(
            stop_id=row.id,
            sequence=row.sequence,
            kind=row.kind.value,
            status=row.status.value,
            store_name=row.store_name if row.kind is not StopKind.DROPOFF else None,
            address=row.address,
            area=row.area,
            instructions=row.instructions,
            lat=row.lat,
            lng=row.lng,
            labels=list(row.labels),
            package_count=row.package_count,
            eta=row.eta,
            deliver_by=row.deliver_by,
            deliver_from=row.deliver_from,
            needs_pin=row.pin_sha256 is not None,
            missing_labels=list(row.missing_labels or []),
            wait_pay_cents=row.wait_pay_cents,
        )


class RouteView(BaseModel):
    route_id: UUID
    offer_id: UUID
    pay_cents: int
    currency: str
    hourly_floor_cents: int
    block_minutes: int
    accepted_at: datetime
    completed_at: datetime | None
    stops: list[StopView]

    @classmethod
    def of(cls, route: Route) -> RouteView:
        return cls(
            route_id=route.id,
            offer_id=route.offer_id,
            pay_cents=route.pay_cents,
            currency=route.currency,
            hourly_floor_cents=route.hourly_floor_cents,
            block_minutes=route.block_minutes,
            accepted_at=route.accepted_at,
            completed_at=route.completed_at,
            stops=[StopView.of(s) for s in sorted(route.stops, key=lambda s: s.sequence)],
        )


class ArriveRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"position": {"lat": 36.1269, "lng": -115.1708}}]}
    )

    position: GeoPoint


class PickupRequest(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"barcodes": [*_LABELS], "partial": False}]}
    )

    barcodes: list[Annotated[str, Field(max_length=100)]] = Field(max_length=500)
    # A pickup with fewer packages than the store reported must say so.
    partial: bool = False


class FailReason(StrEnum):
    NO_ACCESS = "no_access"
    CUSTOMER_ABSENT = "customer_absent"
    UNSAFE = "unsafe"


class FailRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"reason": "customer_absent"}]})

    reason: FailReason


async def _view(db: DbDep, route_id: UUID, driver_id: UUID) -> RouteView:
    async with db.begin() as tx:
        return RouteView.of(await usecases.route_for_driver(tx, route_id, driver_id))


@router.get("/{route_id}", responses={**_ok(_ROUTE), 401: PROBLEM, 404: PROBLEM})
async def get_route(route_id: RouteId, db: DbDep, driver: DriverDep) -> RouteView:
    return await _view(db, route_id, driver.id)


@router.post(
    "/{route_id}/stops/{stop_id}/arrive",
    responses={
        **_ok({**_ROUTE, "stops": [{**_PICKUP, "status": "pending"}, _DROPOFF]}),
        **STEP_ERRORS,
    },
)
async def arrive(
    route_id: RouteId,
    stop_id: StopId,
    body: ArriveRequest,
    db: DbDep,
    settings: SettingsDep,
    driver: DriverDep,
) -> RouteView:
    """Checks in at the store's mall (within its geofence); starts the paid-wait clock."""
    async with db.begin() as tx:
        await usecases.arrive_at_pickup(
            tx, settings, route_id, stop_id, driver.id, body.position, clock.now()
        )
    return await _view(db, route_id, driver.id)


@router.post("/{route_id}/stops/{stop_id}/pickup", responses={**_ok(_ROUTE), **STEP_ERRORS})
async def pick_up(
    route_id: RouteId,
    stop_id: StopId,
    body: PickupRequest,
    db: DbDep,
    settings: SettingsDep,
    driver: DriverDep,
) -> RouteView:
    async with db.begin() as tx:
        await usecases.pick_up(
            tx, settings, route_id, stop_id, driver.id, body.barcodes, body.partial, clock.now()
        )
    return await _view(db, route_id, driver.id)


@router.post(
    "/{route_id}/stops/{stop_id}/deliver",
    responses={**_ok(_DELIVERED), **STEP_ERRORS, 429: PROBLEM},
    openapi_extra={
        "requestBody": {
            "content": {
                "multipart/form-data": {
                    "example": {
                        "lat": 36.1604,
                        "lng": -115.1239,
                        "pin": "4821",
                        "photo": "(a JPEG of the package at the door)",
                    }
                }
            }
        }
    },
)
async def deliver(
    route_id: RouteId,
    stop_id: StopId,
    db: DbDep,
    settings: SettingsDep,
    driver: DriverDep,
    lat: Annotated[float, Form(ge=-90, le=90)],
    lng: Annotated[float, Form(ge=-180, le=180)],
    photo: Annotated[UploadFile, File(description="Proof photo (image/*)")],
    pin: Annotated[str | None, Form(max_length=12)] = None,
) -> RouteView:
    """Multipart: the proof photo, the driver's position, and the PIN when the order needs one."""
    content = await photo.read(settings.max_photo_bytes + 1)
    content_type = photo.content_type or ""
    problem = (
        "must not be empty"
        if not content
        else f"must be at most {settings.max_photo_bytes} bytes"
        if len(content) > settings.max_photo_bytes
        else "must be an image"
        if IMAGE_TYPE.fullmatch(content_type) is None
        else None
    )
    if problem is not None:
        raise Unprocessable(
            "Take the proof photo again and retry.", [FieldError(field="photo", message=problem)]
        )
    try:
        async with db.begin() as tx:
            await usecases.deliver(
                tx,
                settings,
                route_id,
                stop_id,
                driver.id,
                position=GeoPoint(lat=lat, lng=lng),
                photo=usecases.Photo(content, content_type),
                pin=pin,
                now=clock.now(),
            )
    except PinMismatch:
        # The attempt rolled back; the wrong try is kept on its own.
        async with db.begin() as tx:
            answer = await usecases.record_wrong_pin(tx, route_id, stop_id, driver.id, clock.now())
        raise answer from None
    return await _view(db, route_id, driver.id)


@router.post("/{route_id}/stops/{stop_id}/fail", responses={**_ok(_FAILED), **STEP_ERRORS})
async def fail(
    route_id: RouteId, stop_id: StopId, body: FailRequest, db: DbDep, driver: DriverDep
) -> RouteView:
    """The delivery could not be made: the package becomes a return stop to its store."""
    async with db.begin() as tx:
        await usecases.fail(tx, route_id, stop_id, driver.id, body.reason.value, clock.now())
    return await _view(db, route_id, driver.id)


@router.post(
    "/{route_id}/stops/{stop_id}/return",
    responses={
        **_ok(
            {
                **_FAILED,
                "completed_at": "2026-11-26T04:22:40Z",
                "stops": [*_FAILED["stops"][:2], {**_FAILED["stops"][2], "status": "returned"}],
            }
        ),
        **STEP_ERRORS,
    },
)
async def hand_back(route_id: RouteId, stop_id: StopId, db: DbDep, driver: DriverDep) -> RouteView:
    """The package of a failed delivery was handed back to its store."""
    async with db.begin() as tx:
        await usecases.complete_return(tx, route_id, stop_id, driver.id, clock.now())
    return await _view(db, route_id, driver.id)
