from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.middleware import Middleware

from catalog_service.api import catalog, internal, retailer
from catalog_service.events.handlers import build_consumers
from catalog_service.settings import CatalogSettings
from catalog_service.usecases import CatalogRuntime, ensure_malls
from shared.db import Db
from shared.service import ServiceParts, create_service_app

MIGRATIONS = Path(__file__).parent / "store" / "migrations"


def create_app(settings: CatalogSettings) -> FastAPI:
    runtime = CatalogRuntime(settings, fragment=catalog.product_fragment)

    async def load_read_model(app: FastAPI) -> None:
        db: Db = app.state.db
        async with db.begin() as tx:
            await ensure_malls(tx, settings)
        await runtime.load(db)

    app = create_service_app(
        ServiceParts(
            name="catalog",
            title="mall-to-home catalog service",
            description=(
                "The same-day catalog: what can reach an address today, "
                "without revealing which store holds it."
            ),
            settings=settings,
            routers=[catalog.router, retailer.router, internal.router],
            migrations=MIGRATIONS,
            consumers=build_consumers(runtime),
            on_startup=[load_read_model],
            body_limits=[(r"/v1/retailer/.*", settings.retailer_max_body_bytes)],
            rate_limits={"same_day": settings.rate_limit_same_day},
            cors_origins=settings.cors_origins,
            middleware=[Middleware(catalog.SameDayFastPath, runtime=runtime)],
            openapi_tags=[
                {"name": "catalog", "description": "For customers: never names a store."},
                {"name": "retailer", "description": "For retailers, with their API key."},
                {"name": "internal", "description": "For the other services; names stores."},
            ],
        )
    )
    app.state.catalog = runtime
    return app
