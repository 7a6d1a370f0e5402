from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from catalog_service import usecases
from catalog_service.settings import CatalogSettings
from catalog_service.usecases import CatalogRuntime
from shared.api import API_KEY, DbDep, Unauthorized, from_app_state, limit_by_address

get_settings = from_app_state("settings", CatalogSettings)
get_runtime = from_app_state("catalog", CatalogRuntime)


limit_same_day = limit_by_address("same_day")


SettingsDep = Annotated[CatalogSettings, Depends(get_settings)]
RuntimeDep = Annotated[CatalogRuntime, Depends(get_runtime)]

_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="The retailer's API key.")


async def get_retailer_id(db: DbDep, key: str | None = Security(_api_key)) -> str:
    retailer_id = None
    if key:
        async with db.begin() as tx:
            retailer_id = await usecases.retailer_for_key(tx, key)
    if retailer_id is None:
        raise Unauthorized(
            "Send a valid retailer API key in the X-API-Key header.", challenge=API_KEY
        )
    return retailer_id


RetailerDep = Annotated[str, Depends(get_retailer_id)]


_internal_bearer = HTTPBearer(
    scheme_name="InternalToken",
    description="The catalog's internal token (CATALOG_INTERNAL_TOKEN), for other services only.",
    auto_error=False,
)


async def require_internal_token(
    settings: SettingsDep,
    credentials: HTTPAuthorizationCredentials | None = Security(_internal_bearer),
) -> None:
    expected = settings.internal_token.get_secret_value().encode()
    if credentials is None or not secrets.compare_digest(
        credentials.credentials.encode(), expected
    ):
        raise Unauthorized(
            "This endpoint is for other services: send the catalog's internal token as "
            "'Authorization: Bearer <token>'."
        )
