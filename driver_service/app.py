from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from driver_service.accept_gate import AcceptGate
from driver_service.api import drivers, earnings, offers, routes
from driver_service.domain.errors import (
    DomainError,
    IllegalStep,
    OutsideGeofence,
    PinLocked,
    ScanMismatch,
    WrongPin,
)
from driver_service.events.handlers import CONSUMERS
from driver_service.offer_hub import OfferHub
from driver_service.settings import DriverSettings
from shared.problems import FieldError, ProblemError, Unprocessable, problem_response
from shared.service import ServiceParts, create_service_app

MIGRATIONS = Path(__file__).parent / "store" / "migrations"


async def start_offer_hub(app: FastAPI) -> None:
    hub = OfferHub(app.state.db)
    app.state.offer_hub = hub
    await hub.start()


async def stop_offer_hub(app: FastAPI) -> None:
    hub: OfferHub = app.state.offer_hub
    await hub.stop()


def domain_problem(error: DomainError) -> ProblemError:
    if isinstance(error, ScanMismatch):
        return Unprocessable(
            error.detail,
            [FieldError(field="barcodes", message=f"unknown label {x}") for x in error.unknown]
            + [FieldError(field="barcodes", message=f"missing label {x}") for x in error.missing],
            code=error.code,
        )
    if isinstance(error, OutsideGeofence):
        return Unprocessable(
            error.detail,
            [FieldError(field="position", message=f"must be within {error.radius_m:.0f} m")],
            code=error.code,
        )
    if isinstance(error, WrongPin):
        return Unprocessable(
            error.detail, [FieldError(field="pin", message="does not match")], code=error.code
        )
    if isinstance(error, IllegalStep):
        return ProblemError(409, error.code, error.detail)
    if isinstance(error, PinLocked):
        return ProblemError(429, error.code, error.detail, title="Too many requests")
    return Unprocessable(error.detail, [], code=error.code)


def create_app(settings: DriverSettings) -> FastAPI:
    app = create_service_app(
        ServiceParts(
            name="driver",
            title="mall-to-home driver service",
            description=(
                "The driver app's API: offers, acceptance, pickup, proof of delivery, earnings."
            ),
            settings=settings,
            routers=[drivers.router, offers.router, routes.router, earnings.router],
            migrations=MIGRATIONS,
            consumers=CONSUMERS,
            on_startup=[start_offer_hub],
            on_shutdown=[stop_offer_hub],
            # Multipart adds a little to the photo itself.
            body_limits=[
                (r"/v1/routes/[^/]+/stops/[^/]+/deliver", settings.max_photo_bytes + 65_536)
            ],
            rate_limits={"sign_in": settings.rate_limit_sign_in},
        )
    )

    app.state.accept_gate = AcceptGate()

    @app.exception_handler(DomainError)
    async def _domain(request: Request, error: DomainError) -> JSONResponse:
        return problem_response(request, domain_problem(error))

    return app
