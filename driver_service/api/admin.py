"""Operator endpoints: taking a driver offline who stopped reporting (dispatch's console)."""

from __future__ import annotations

import hmac
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Path
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from driver_service import usecases
from driver_service.api.deps import SettingsDep
from driver_service.api.drivers import DriverView
from shared import clock
from shared.api import BEARER_INVALID_TOKEN, DbDep, Unauthorized
from shared.problems import PROBLEM

router = APIRouter(prefix="/v1/admin", tags=["internal"])

_DRIVER_ID = "a8f3c2d1-6e5b-4a79-8c0d-1e2f3a4b5c6d"
_OFFLINE: dict[str, Any] = {
    "id": _DRIVER_ID,
    "name": "Marisol Ortega",
    "vehicle_type": "car",
    "capacity_packages": 15,
    "is_online": False,
    "location": {"lat": 36.1268, "lng": -115.1694, "at": "2026-11-26T02:41:12Z", "is_stale": True},
}

_bearer = HTTPBearer(auto_error=False, description="The operator token (DRIVER_OPERATOR_TOKEN).")


async def require_operator(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    expected = settings.operator_token.get_secret_value().encode()
    if credentials is None or not hmac.compare_digest(credentials.credentials.encode(), expected):
        raise Unauthorized(
            "Send the operator token as `Authorization: Bearer <token>`.",
            challenge=BEARER_INVALID_TOKEN,
        )


@router.post(
    "/drivers/{driver_id}/offline",
    summary="Take a driver offline (one who stopped reporting): no more offers until they go "
    "online again; again changes nothing",
    dependencies=[Depends(require_operator)],
    responses={
        200: {"content": {"application/json": {"example": _OFFLINE}}},
        401: PROBLEM,
        404: PROBLEM,
    },
)
async def take_offline(
    driver_id: Annotated[UUID, Path(examples=[_DRIVER_ID])], db: DbDep, settings: SettingsDep
) -> DriverView:
    now = clock.now()
    async with db.begin() as tx:
        row = await usecases.set_online(tx, driver_id, False, None, now)
    return DriverView.of(row, settings, now)
