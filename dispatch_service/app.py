from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from dispatch_service.events.handlers import CONSUMERS
from dispatch_service.settings import DispatchSettings
from shared.service import ServiceParts, create_service_app

MIGRATIONS = Path(__file__).parent / "store" / "migrations"


def create_app(settings: DispatchSettings) -> FastAPI:
    return create_service_app(
        ServiceParts(
            name="dispatch",
            title="mall-to-home dispatch service",
            description=("Batches ready orders into routes and offers them to drivers."),
            settings=settings,
            routers=[],
            migrations=MIGRATIONS,
            consumers=CONSUMERS,
        )
    )
