from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from order_service.events.handlers import CONSUMERS
from order_service.settings import OrderSettings
from shared.service import ServiceParts, create_service_app

MIGRATIONS = Path(__file__).parent / "store" / "migrations"


def create_app(settings: OrderSettings) -> FastAPI:
    return create_service_app(
        ServiceParts(
            name="order",
            title="mall-to-home order service",
            description=(
                "Checkout, hidden store selection, order lifecycle, and the retailer POS side."
            ),
            settings=settings,
            routers=[],
            migrations=MIGRATIONS,
            consumers=CONSUMERS,
        )
    )
