from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from driver_service.events.handlers import CONSUMERS
from driver_service.settings import DriverSettings
from shared.service import ServiceParts, create_service_app

MIGRATIONS = Path(__file__).parent / "store" / "migrations"


def create_app(settings: DriverSettings) -> FastAPI:
    return create_service_app(
        ServiceParts(
            name="driver",
            title="mall-to-home driver service",
            description=(
                "The driver app's API: offers, acceptance, pickup, proof of delivery, earnings."
            ),
            settings=settings,
            routers=[],
            migrations=MIGRATIONS,
            consumers=CONSUMERS,
        )
    )
