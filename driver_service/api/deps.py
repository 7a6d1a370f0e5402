from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from driver_service import auth
from driver_service.accept_gate import AcceptGate
from driver_service.offer_hub import OfferHub
from driver_service.settings import DriverSettings
from shared import clock
from shared.api import BEARER_INVALID_TOKEN, Unauthorized, from_app_state, limit_by_address

get_settings = from_app_state("settings", DriverSettings)
get_hub = from_app_state("offer_hub", OfferHub)
get_accept_gate = from_app_state("accept_gate", AcceptGate)


limit_sign_in = limit_by_address("sign_in")


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
        raise Unauthorized(
            "Send your access token as `Authorization: Bearer <token>`.",
            challenge=BEARER_INVALID_TOKEN,
        )
    try:
        claims = auth.decode_token(
            settings.jwt_secret, credentials.credentials, "access", clock.now()
        )
    except auth.InvalidToken as error:
        raise Unauthorized(
            f"The access token is invalid ({error}); refresh it.", challenge=BEARER_INVALID_TOKEN
        ) from None
    return CurrentDriver(claims.driver_id)


DriverDep = Annotated[CurrentDriver, Depends(current_driver)]
