from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI

from order_service import metrics
from order_service.api import (
    admin,
    checkout,
    orders,
    quotes,
    retailer,
    storefront_deliveries,
    storefront_endpoints,
    storefront_webhooks,
    tracking,
)
from order_service.catalog_client import CatalogClient
from order_service.events.handlers import build_consumers
from order_service.expiry import ReservationExpiry
from order_service.outgoing import Outgoing
from order_service.settings import OrderSettings
from order_service.webhooks import WebhookSender
from shared.service import ServiceParts, create_service_app

MIGRATIONS = Path(__file__).parent / "store" / "migrations"


def create_app(
    settings: OrderSettings,
    *,
    catalog_transport: httpx.AsyncBaseTransport | None = None,
    webhook_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """The order service; the transports let tests stand in for the catalog and the webhook
    endpoints of stores and storefront."""
    outgoing = Outgoing.from_settings(settings)

    async def start_clients(app: FastAPI) -> None:
        app.state.catalog = CatalogClient(
            settings.catalog_url,
            internal_token=settings.catalog_internal_token.get_secret_value(),
            timeout_seconds=settings.catalog_timeout_seconds,
            attempts=settings.catalog_attempts,
            backoff_seconds=settings.catalog_backoff_seconds,
            transport=catalog_transport,
        )
        app.state.webhooks = WebhookSender(app.state.db, settings, transport=webhook_transport)
        await app.state.webhooks.start()
        app.state.expiry = ReservationExpiry(app.state.db, settings)
        await app.state.expiry.start()

    async def stop_clients(app: FastAPI) -> None:
        await app.state.expiry.stop()
        await app.state.webhooks.stop()
        await app.state.catalog.close()

    app = create_service_app(
        ServiceParts(
            name="order",
            title="mall-to-home order service",
            description=(
                "Checkout, hidden store selection, order lifecycle, and the retailer POS side."
            ),
            settings=settings,
            routers=[
                checkout.router,
                orders.router,
                quotes.router,
                storefront_endpoints.router,
                storefront_deliveries.router,
                tracking.router,
                retailer.router,
                admin.router,
            ],
            migrations=MIGRATIONS,
            metrics=metrics.COLLECTORS,
            consumers=build_consumers(outgoing),
            on_startup=[start_clients],
            on_shutdown=[stop_clients],
            rate_limits={
                "checkout": settings.rate_limit_checkout,
                "orders": settings.rate_limit_orders,
            },
            cors_origins=settings.cors_origins,
            webhooks=storefront_webhooks.webhooks,
            openapi_tags=[
                {"name": "orders", "description": "Customer API: checkout and order status."},
                {
                    "name": "storefront",
                    "description": "The storefront's webhook endpoints and their deliveries.",
                },
                {"name": "tracking", "description": "The shopper's tracking page."},
                {"name": "retailer", "description": "Store POS: API key and signed events."},
                {"name": "internal", "description": "Operator and service-to-service endpoints."},
            ],
        )
    )
    app.state.outgoing = outgoing
    return app
