from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from catalog_service.events.handlers import CONSUMERS
from catalog_service.settings import CatalogSettings
from shared.service import ServiceParts, create_service_app

MIGRATIONS = Path(__file__).parent / "store" / "migrations"


def create_app(settings: CatalogSettings) -> FastAPI:
    return create_service_app(
        ServiceParts(
            name="catalog",
            title="mall-to-home catalog service",
            description=(
                "The same-day catalog: what can reach an address today, "
                "without revealing which store holds it."
            ),
            settings=settings,
            routers=[],
            migrations=MIGRATIONS,
            consumers=CONSUMERS,
        )
    )
