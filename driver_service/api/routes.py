from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, File, Form, UploadFile
from pydantic import BaseModel, Field
from sqlalchemy.engine import Row

from driver_service import usecases
from driver_service.api.deps import DbDep, DriverDep, SettingsDep
from shared import clock
from shared.events.common import GeoPoint
from shared.problems import PROBLEM, FieldError, Unprocessable

router = APIRouter(prefix="/v1/routes", tags=["routes"])

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
    needs_pin: bool
    missing_labels: list[str]
    wait_pay_cents: int

    @classmethod
    def of(cls, row: Row[Any]) -> StopView:
        return cls(
            stop_id=row.id,
            sequence=row.sequence,
            kind=row.kind,
            status=row.status,
            store_name=row.store_name if row.kind != "dropoff" else None,
            address=row.address,
            area=row.area,
            instructions=row.instructions,
            lat=row.lat,
            lng=row.lng,
            labels=list(row.labels),
            package_count=row.package_count,
            eta=row.eta,
            deliver_by=row.deliver_by,
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
    def of(cls, state: usecases.RouteState) -> RouteView:
        route = state.route
        return cls(
            route_id=route.id,
            offer_id=route.offer_id,
            pay_cents=route.pay_cents,
            currency=route.currency,
            hourly_floor_cents=route.hourly_floor_cents,
            block_minutes=route.block_minutes,
            accepted_at=route.accepted_at,
            completed_at=route.completed_at,
            stops=[StopView.of(s) for s in state.stops],
        )


class ArriveRequest(BaseModel):
    position: GeoPoint


class PickupRequest(BaseModel):
    barcodes: list[str] = Field(max_length=500)
    # A pickup with fewer packages than the store reported must say so.
    partial: bool = False


class FailReason(StrEnum):
    NO_ACCESS = "no_access"
    CUSTOMER_ABSENT = "customer_absent"
    UNSAFE = "unsafe"


class FailRequest(BaseModel):
    reason: FailReason


async def _view(db: DbDep, route_id: UUID, driver_id: UUID) -> RouteView:
    async with db.begin() as tx:
        return RouteView.of(await usecases.route_for_driver(tx, route_id, driver_id))


@router.get("/{route_id}", responses={401: PROBLEM, 404: PROBLEM})
async def get_route(route_id: UUID, db: DbDep, driver: DriverDep) -> RouteView:
    return await _view(db, route_id, driver.id)


@router.post("/{route_id}/stops/{stop_id}/arrive", responses=STEP_ERRORS)
async def arrive(
    route_id: UUID,
    stop_id: UUID,
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


@router.post("/{route_id}/stops/{stop_id}/pickup", responses=STEP_ERRORS)
async def pick_up(
    route_id: UUID,
    stop_id: UUID,
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


@router.post("/{route_id}/stops/{stop_id}/deliver", responses=STEP_ERRORS)
async def deliver(
    route_id: UUID,
    stop_id: UUID,
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
        if not content_type.startswith("image/")
        else None
    )
    if problem is not None:
        raise Unprocessable(
            "Take the proof photo again and retry.", [FieldError(field="photo", message=problem)]
        )
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
    return await _view(db, route_id, driver.id)


@router.post("/{route_id}/stops/{stop_id}/fail", responses=STEP_ERRORS)
async def fail(
    route_id: UUID, stop_id: UUID, body: FailRequest, db: DbDep, driver: DriverDep
) -> RouteView:
    """The delivery could not be made: the package becomes a return stop to its store."""
    async with db.begin() as tx:
        await usecases.fail(tx, route_id, stop_id, driver.id, body.reason.value, clock.now())
    return await _view(db, route_id, driver.id)


@router.post("/{route_id}/stops/{stop_id}/return", responses=STEP_ERRORS)
async def hand_back(route_id: UUID, stop_id: UUID, db: DbDep, driver: DriverDep) -> RouteView:
    """The package of a failed delivery was handed back to its store."""
    async with db.begin() as tx:
        await usecases.complete_return(tx, route_id, stop_id, driver.id, clock.now())
    return await _view(db, route_id, driver.id)
