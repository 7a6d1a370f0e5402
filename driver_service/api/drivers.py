from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Response
from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy.engine import Row

from driver_service import usecases
from driver_service.api.deps import DbDep, DriverDep, SettingsDep
from driver_service.domain import limits
from driver_service.domain.vehicles import VehicleType
from driver_service.settings import DriverSettings
from shared import clock
from shared.events.common import GeoPoint
from shared.malls import pilot_malls
from shared.problems import PROBLEM, NotFound

router = APIRouter(tags=["drivers"])


class RegisterRequest(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    phone: str = Field(pattern=r"^\+[1-9][0-9]{7,14}$", examples=["+17025550123"])
    vehicle_type: VehicleType


class TokenView(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int

    @classmethod
    def of(cls, tokens: usecases.Tokens) -> TokenView:
        return cls(
            access_token=tokens.access_token,
            refresh_token=tokens.refresh_token,
            expires_in=tokens.expires_in,
        )


class LocationView(BaseModel):
    lat: float
    lng: float
    at: datetime
    is_stale: bool


class DriverView(BaseModel):
    id: UUID
    name: str
    vehicle_type: str
    capacity_packages: int
    is_online: bool
    location: LocationView | None

    @classmethod
    def of(cls, row: Row[Any], settings: DriverSettings, now: datetime) -> DriverView:
        location = None
        if row.location_at is not None:
            location = LocationView(
                lat=row.lat,
                lng=row.lng,
                at=row.location_at,
                is_stale=limits.is_stale(
                    row.location_at, now, timedelta(seconds=settings.location_stale_after_seconds)
                ),
            )
        return cls(
            id=row.id,
            name=row.name,
            vehicle_type=row.vehicle_type,
            capacity_packages=row.capacity_packages,
            is_online=row.is_online,
            location=location,
        )


class RegisteredView(BaseModel):
    driver: DriverView
    tokens: TokenView


class RefreshRequest(BaseModel):
    refresh_token: str = Field(min_length=1)


class OnlineRequest(BaseModel):
    location: GeoPoint | None = None


class BlockRequest(BaseModel):
    mall_id: str = Field(examples=["fashion-show-las-vegas"])
    starts_at: AwareDatetime
    hours: float = Field(examples=[3])


class BlockView(BaseModel):
    id: UUID
    mall_id: str
    mall_name: str
    starts_at: datetime
    ends_at: datetime
    hours: float

    @classmethod
    def of(cls, row: Row[Any]) -> BlockView:
        names = {m.id: m.name for m in pilot_malls()}
        return cls(
            id=row.id,
            mall_id=row.mall_id,
            mall_name=names.get(row.mall_id, row.mall_id),
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            hours=(row.ends_at - row.starts_at).total_seconds() / 3600,
        )


@router.post("/v1/drivers", status_code=201, responses={409: PROBLEM, 422: PROBLEM})
async def register(body: RegisterRequest, db: DbDep, settings: SettingsDep) -> RegisteredView:
    now = clock.now()
    async with db.begin() as tx:
        row, tokens = await usecases.register_driver(
            tx, settings, name=body.name, phone=body.phone, vehicle=body.vehicle_type, now=now
        )
    return RegisteredView(driver=DriverView.of(row, settings, now), tokens=TokenView.of(tokens))


@router.post("/v1/auth/token", tags=["auth"], responses={401: PROBLEM, 422: PROBLEM})
async def refresh(body: RefreshRequest, db: DbDep, settings: SettingsDep) -> TokenView:
    """Trades a refresh token (single use) for a new access and refresh token."""
    async with db.begin() as tx:
        tokens = await usecases.refresh_tokens(tx, settings, body.refresh_token, clock.now())
    return TokenView.of(tokens)


@router.get("/v1/drivers/me", responses={401: PROBLEM, 404: PROBLEM})
async def me(db: DbDep, settings: SettingsDep, driver: DriverDep) -> DriverView:
    async with db.begin() as tx:
        row = await usecases.driver_or_404(tx, driver.id)
    return DriverView.of(row, settings, clock.now())


@router.post("/v1/drivers/me/online", responses={401: PROBLEM, 422: PROBLEM})
async def go_online(
    db: DbDep, settings: SettingsDep, driver: DriverDep, body: OnlineRequest | None = None
) -> DriverView:
    now = clock.now()
    async with db.begin() as tx:
        row = await usecases.set_online(tx, driver.id, True, body.location if body else None, now)
    return DriverView.of(row, settings, now)


@router.post("/v1/drivers/me/offline", responses={401: PROBLEM})
async def go_offline(db: DbDep, settings: SettingsDep, driver: DriverDep) -> DriverView:
    now = clock.now()
    async with db.begin() as tx:
        row = await usecases.set_online(tx, driver.id, False, None, now)
    return DriverView.of(row, settings, now)


@router.post("/v1/drivers/me/location", responses={401: PROBLEM, 422: PROBLEM, 429: PROBLEM})
async def update_location(
    body: GeoPoint, db: DbDep, settings: SettingsDep, driver: DriverDep
) -> DriverView:
    now = clock.now()
    async with db.begin() as tx:
        row = await usecases.update_location(tx, settings, driver.id, body, now)
    return DriverView.of(row, settings, now)


@router.post(
    "/v1/drivers/me/blocks", status_code=201, responses={401: PROBLEM, 409: PROBLEM, 422: PROBLEM}
)
async def schedule_block(body: BlockRequest, db: DbDep, driver: DriverDep) -> BlockView:
    async with db.begin() as tx:
        block_id = await usecases.schedule_block(
            tx,
            driver.id,
            mall_id=body.mall_id,
            starts_at=body.starts_at,
            hours=body.hours,
            now=clock.now(),
        )
        rows = await usecases.blocks_of(tx, driver.id)
    return next(BlockView.of(r) for r in rows if r.id == block_id)


@router.get("/v1/drivers/me/blocks", responses={401: PROBLEM})
async def list_blocks(db: DbDep, driver: DriverDep) -> list[BlockView]:
    async with db.begin() as tx:
        rows = await usecases.blocks_of(tx, driver.id)
    return [BlockView.of(r) for r in rows]


@router.delete(
    "/v1/drivers/me/blocks/{block_id}", status_code=204, responses={401: PROBLEM, 404: PROBLEM}
)
async def cancel_block(block_id: UUID, db: DbDep, driver: DriverDep) -> Response:
    async with db.begin() as tx:
        deleted = await usecases.cancel_block(tx, driver.id, block_id)
    if not deleted:
        raise NotFound("block")
    return Response(status_code=204)
