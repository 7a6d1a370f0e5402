from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from driver_service import auth
from driver_service.accept_gate import AcceptGate
from driver_service.offer_hub import OfferHub
from driver_service.settings import DriverSettings
from shared import clock
from shared.db import Db
from shared.problems import ProblemError


class Unauthorized(ProblemError):
    def __init__(self, detail: str) -> None:
        super().__init__(
            401,
            "unauthorized",
            detail,
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )


async def get_db(request: Request) -> Db:
    db: Db = request.app.state.db
    return db


async def get_settings(request: Request) -> DriverSettings:
    settings: DriverSettings = request.app.state.settings
    return settings


async def get_hub(request: Request) -> OfferHub:
    hub: OfferHub = request.app.state.offer_hub
    return hub


async def get_accept_gate(request: Request) -> AcceptGate:
    gate: AcceptGate = request.app.state.accept_gate
    return gate


async def limit_sign_in(request: Request) -> None:
    # Anonymous: the caller is its address (behind a proxy, the one uvicorn trusts to say so).
    caller = request.client.host if request.client else "unknown"
    request.app.state.rate_limits.check("sign_in", caller)


DbDep = Annotated[Db, Depends(get_db)]
GateDep = Annotated[AcceptGate, Depends(get_accept_gate)]
SettingsDep = Annotated[DriverSettings, Depends(get_settings)]
HubDep = Annotated[OfferHub, Depends(get_hub)]

# Dependencies are `async def`: a plain `def` would cost every request a thread hop.
_bearer = HTTPBearer(auto_error=False, description="A driver's access token (JWT).")


@dataclass(frozen=True)
class CurrentDriver:
    id: UUID


async def current_driver(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> CurrentDriver:
    # No database read: long polls must stay off the database.
    if credentials is None:
        raise Unauthorized("Send your access token as `Authorization: Bearer <token>`.")
    try:
        claims = auth.decode_token(
            settings.jwt_secret, credentials.credentials, "access", clock.now()
        )
    except auth.InvalidToken as error:
        raise Unauthorized(f"The access token is invalid ({error}); refresh it.") from None
    return CurrentDriver(claims.driver_id)


DriverDep = Annotated[CurrentDriver, Depends(current_driver)]
