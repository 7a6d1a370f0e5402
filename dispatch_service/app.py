from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from dispatch_service import metrics
from dispatch_service.api.operators import router as operators_router
from dispatch_service.events.handlers import consumers
from dispatch_service.settings import DispatchSettings
from dispatch_service.timers import start_timers, stop_timers
from dispatch_service.usecases import Policies
from shared.service import ServiceParts, create_service_app

MIGRATIONS = Path(__file__).parent / "store" / "migrations"


def create_app(settings: DispatchSettings) -> FastAPI:
    policies = Policies.from_settings(settings)
    app = create_service_app(
        ServiceParts(
            name="dispatch",
            title="mall-to-home dispatch service",
            description="Batches ready orders into routes and offers them to drivers.",
            settings=settings,
            routers=[operators_router],
            migrations=MIGRATIONS,
            metrics=metrics.COLLECTORS,
            consumers=consumers(policies),
            on_startup=[start_timers],
            on_shutdown=[stop_timers],
            openapi_tags=[
                {
                    "name": "internal",
                    "description": "Operators only (operator bearer token); names stores.",
                }
            ],
        )
    )
    app.state.policies = policies
    return app
