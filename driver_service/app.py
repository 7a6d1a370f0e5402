from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.middleware import Middleware

from driver_service.accept_gate import AcceptGate
from driver_service.api import admin, drivers, earnings, offers, proofs, routes
from driver_service.api.problems import domain_problem
from driver_service.domain.errors import DomainError
from driver_service.events.handlers import CONSUMERS
from driver_service.offer_hub import OfferHub
from driver_service.settings import DriverSettings
from shared.problems import problem_response
from shared.service import ServiceParts, create_service_app

MIGRATIONS = Path(__file__).parent / "store" / "migrations"


async def start_offer_hub(app: FastAPI) -> None:
    hub = OfferHub(app.state.db, render=offers.render_offer)
    app.state.offer_hub = hub
    await hub.start()


async def stop_offer_hub(app: FastAPI) -> None:
    hub: OfferHub = app.state.offer_hub
    await hub.stop()


def create_app(settings: DriverSettings) -> FastAPI:
    app = create_service_app(
        ServiceParts(
            name="driver",
            title="mall-to-home driver service",
            description=(
                "The driver app's API: offers, acceptance, pickup, proof of delivery, earnings."
            ),
            settings=settings,
            routers=[
                drivers.router,
                offers.router,
                routes.router,
                earnings.router,
                proofs.router,
                admin.router,
            ],
            migrations=MIGRATIONS,
            consumers=CONSUMERS,
            on_startup=[start_offer_hub],
            on_shutdown=[stop_offer_hub],
            # Multipart adds a little to the photo itself.
            body_limits=[
                (r"/v1/routes/[^/]+/stops/[^/]+/deliver", settings.max_photo_bytes + 65_536)
            ],
            rate_limits={"sign_in": settings.rate_limit_sign_in},
            middleware=[Middleware(offers.OffersFastPath)],
        )
    )

    app.state.accept_gate = AcceptGate()

    @app.exception_handler(DomainError)
    async def _domain(request: Request, error: DomainError) -> JSONResponse:
        return problem_response(request, domain_problem(error))

    return app
