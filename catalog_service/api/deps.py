from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from catalog_service import usecases
from catalog_service.settings import CatalogSettings
from catalog_service.usecases import CatalogRuntime
from shared.db import Db
from shared.problems import ProblemError


# Async, though they only read app state: FastAPI runs a plain `def` dependency in a thread.
async def get_db(request: Request) -> Db:
    db: Db = request.app.state.db
    return db


async def get_settings(request: Request) -> CatalogSettings:
    settings: CatalogSettings = request.app.state.settings
    return settings


async def get_runtime(request: Request) -> CatalogRuntime:
    runtime: CatalogRuntime = request.app.state.catalog
    return runtime


async def limit_same_day(request: Request) -> None:
    # Anonymous: the caller is its address (behind a proxy, the one uvicorn trusts to say so).
    caller = request.client.host if request.client else "unknown"
    request.app.state.rate_limits.check("same_day", caller)


DbDep = Annotated[Db, Depends(get_db)]
SettingsDep = Annotated[CatalogSettings, Depends(get_settings)]
RuntimeDep = Annotated[CatalogRuntime, Depends(get_runtime)]

_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="The retailer's API key.")


async def get_retailer_id(db: DbDep, key: str | None = Security(_api_key)) -> str:
    retailer_id = None
    if key:
        async with db.begin() as tx:
            retailer_id = await usecases.retailer_for_key(tx, key)
    if retailer_id is None:
        raise ProblemError(
            401,
            "unauthorized",
            "Send a valid retailer API key in the X-API-Key header.",
            title="Unauthorized",
            headers={"WWW-Authenticate": "APIKey"},
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
        raise ProblemError(
            401,
            "unauthorized",
            "This endpoint is for other services: send the catalog's internal token as "
            "'Authorization: Bearer <token>'.",
            title="Unauthorized",
            headers={"WWW-Authenticate": "Bearer"},
        )
