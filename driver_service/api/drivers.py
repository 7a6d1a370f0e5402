from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Depends, Path, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy.engine import Row

from driver_service import usecases
from driver_service.api.deps import DriverDep, SettingsDep, limit_sign_in
from driver_service.domain import limits
from driver_service.domain.vehicles import VehicleType
from driver_service.settings import DriverSettings
from shared import clock
from shared.api import DbDep
from shared.events.common import GeoPoint
from shared.malls import pilot_malls
from shared.problems import PROBLEM, NotFound
from shared.text import NonBlank, RequestModel

router = APIRouter(tags=["drivers"])

_DRIVER_ID = "a8f3c2d1-6e5b-4a79-8c0d-1e2f3a4b5c6d"
_BLOCK_ID = "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e"
# Signed with a throwaway secret: the shape of real tokens, valid nowhere.
_ACCESS_TOKEN = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhOGYzYzJkMS02ZTViLTRhNzktOGMwZC0"
    "xZTJmM2E0YjVjNmQiLCJ0eXAiOiJhY2Nlc3MiLCJqdGkiOiI2NmI2ZWQzMi05ZTI3LTQ1YjItYmU4Mi0"
    "5ZmFhNTc4MGRlYTciLCJpYXQiOjE3OTU2NjIwMDAsImV4cCI6MTc5NTY2MjkwMH0.cbb4GPggzk8rKL9"
    "OgXs_1oAuuRcfVp2ao0gXrwsDSp8"
)
_REFRESH_TOKEN = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhOGYzYzJkMS02ZTViLTRhNzktOGMwZC0"
    "xZTJmM2E0YjVjNmQiLCJ0eXAiOiJyZWZyZXNoIiwianRpIjoiY2VhN2NmMjAtZDQ0Yi00YmFlLWE4NTY"
    "tYTVkNmQyM2RkNzExIiwiaWF0IjoxNzk1NjYyMDAwLCJleHAiOjE3OTgyNTQwMDB9.cEQs2DgKZj_C_M"
    "GjrCd2IM6Kz3FDKk2NrhHW1vpg0JY"
)
_NEXT_REFRESH_TOKEN = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhOGYzYzJkMS02ZTViLTRhNzktOGMwZC0"
    "xZTJmM2E0YjVjNmQiLCJ0eXAiOiJyZWZyZXNoIiwianRpIjoiNjY1N2MzZmQtMTFiZC00MWU4LWEwNWU"
    "tZTA1NTAzMjIyZTEzIiwiaWF0IjoxNzk1NjYyMDAwLCJleHAiOjE3OTgyNTQwMDB9.r0m6gS-p26FtMs"
    "nj5QlFDj_tmTYaOc3Bmyug-DkLEbA"
)
_TOKENS: dict[str, Any] = {
    "access_token": _ACCESS_TOKEN,
    "refresh_token": _REFRESH_TOKEN,
    "token_type": "bearer",
    "expires_in": 900,
}
_DRIVER: dict[str, Any] = {
    "id": _DRIVER_ID,
    "name": "Marisol Ortega",
    "vehicle_type": "car",
    "capacity_packages": 15,
    "is_online": True,
    "location": {"lat": 36.1268, "lng": -115.1694, "at": "2026-11-26T03:05:12Z", "is_stale": False},
}
_BLOCK: dict[str, Any] = {
    "id": _BLOCK_ID,
    "mall_id": "fashion-show-las-vegas",
    "mall_name": "Fashion Show Mall",
    "starts_at": "2026-11-26T01:00:00Z",
    "ends_at": "2026-11-26T04:00:00Z",
    "hours": 3.0,
}
_POSITION_EXAMPLES: dict[str, Any] = {
    "at_the_mall": {"summary": "Waiting near a mall", "value": {"lat": 36.1268, "lng": -115.1694}}
}


def _ok(example: Any, status: int = 200) -> dict[int | str, dict[str, Any]]:
    return {status: {"content": {"application/json": {"example": example}}}}


class RegisterRequest(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"name": "Marisol Ortega", "phone": "+17025550123", "vehicle_type": "car"}]
        }
    )

    name: NonBlank = Field(max_length=100)
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


class RefreshRequest(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"refresh_token": _REFRESH_TOKEN}]})

    refresh_token: str = Field(min_length=1, max_length=4000)


class OnlineRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"location": {"lat": 36.1268, "lng": -115.1694}}]}
    )

    location: GeoPoint | None = None


class BlockRequest(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "mall_id": "fashion-show-las-vegas",
                    "starts_at": "2026-11-25T17:00:00-08:00",
                    "hours": 3,
                }
            ]
        }
    )

    mall_id: str = Field(max_length=100, examples=["fashion-show-las-vegas"])
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


@router.post(
    "/v1/drivers",
    status_code=201,
    responses={
        **_ok(
            {"driver": {**_DRIVER, "is_online": False, "location": None}, "tokens": _TOKENS}, 201
        ),
        409: PROBLEM,
        422: PROBLEM,
        429: PROBLEM,
    },
    dependencies=[Depends(limit_sign_in)],
)
async def register(body: RegisterRequest, db: DbDep, settings: SettingsDep) -> RegisteredView:
    now = clock.now()
    async with db.begin() as tx:
        row, tokens = await usecases.register_driver(
            tx, settings, name=body.name, phone=body.phone, vehicle=body.vehicle_type, now=now
        )
    return RegisteredView(driver=DriverView.of(row, settings, now), tokens=TokenView.of(tokens))


@router.post(
    "/v1/auth/token",
    tags=["auth"],
    responses={
        **_ok({**_TOKENS, "refresh_token": _NEXT_REFRESH_TOKEN}),
        401: PROBLEM,
        422: PROBLEM,
        429: PROBLEM,
    },
    dependencies=[Depends(limit_sign_in)],
)
async def refresh(body: RefreshRequest, db: DbDep, settings: SettingsDep) -> TokenView:
    """Trades a refresh token (single use) for a new access and refresh token."""
    async with db.begin() as tx:
        tokens = await usecases.refresh_tokens(tx, settings, body.refresh_token, clock.now())
    return TokenView.of(tokens)


@router.get("/v1/drivers/me", responses={**_ok(_DRIVER), 401: PROBLEM, 404: PROBLEM})
async def me(db: DbDep, settings: SettingsDep, driver: DriverDep) -> DriverView:
    async with db.begin() as tx:
        row = await usecases.driver_or_404(tx, driver.id)
    return DriverView.of(row, settings, clock.now())


@router.post("/v1/drivers/me/online", responses={**_ok(_DRIVER), 401: PROBLEM, 422: PROBLEM})
async def go_online(
    db: DbDep, settings: SettingsDep, driver: DriverDep, body: OnlineRequest | None = None
) -> DriverView:
    now = clock.now()
    async with db.begin() as tx:
        row = await usecases.set_online(tx, driver.id, True, body.location if body else None, now)
    return DriverView.of(row, settings, now)


@router.post(
    "/v1/drivers/me/offline", responses={**_ok({**_DRIVER, "is_online": False}), 401: PROBLEM}
)
async def go_offline(db: DbDep, settings: SettingsDep, driver: DriverDep) -> DriverView:
    now = clock.now()
    async with db.begin() as tx:
        row = await usecases.set_online(tx, driver.id, False, None, now)
    return DriverView.of(row, settings, now)


@router.post(
    "/v1/drivers/me/location",
    responses={**_ok(_DRIVER), 401: PROBLEM, 422: PROBLEM, 429: PROBLEM},
)
async def update_location(
    body: Annotated[GeoPoint, Body(openapi_examples=_POSITION_EXAMPLES)],
    db: DbDep,
    settings: SettingsDep,
    driver: DriverDep,
) -> DriverView:
    now = clock.now()
    async with db.begin() as tx:
        row = await usecases.update_location(tx, settings, driver.id, body, now)
    return DriverView.of(row, settings, now)


@router.post(
    "/v1/drivers/me/blocks",
    status_code=201,
    responses={**_ok(_BLOCK, 201), 401: PROBLEM, 409: PROBLEM, 422: PROBLEM},
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


@router.get("/v1/drivers/me/blocks", responses={**_ok([_BLOCK]), 401: PROBLEM})
async def list_blocks(db: DbDep, driver: DriverDep) -> list[BlockView]:
    async with db.begin() as tx:
        rows = await usecases.blocks_of(tx, driver.id)
    return [BlockView.of(r) for r in rows]


@router.delete(
    "/v1/drivers/me/blocks/{block_id}", status_code=204, responses={401: PROBLEM, 404: PROBLEM}
)
async def cancel_block(
    block_id: Annotated[UUID, Path(examples=[_BLOCK_ID])], db: DbDep, driver: DriverDep
) -> Response:
    async with db.begin() as tx:
        deleted = await usecases.cancel_block(tx, driver.id, block_id)
    if not deleted:
        raise NotFound("block")
    return Response(status_code=204)
