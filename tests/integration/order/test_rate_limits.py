"""Checkouts and order reads are limited per customer: 429 with Retry-After, nothing placed."""

from __future__ import annotations

import uuid

import httpx

from order_service.app import create_app
from order_service.dev import customer_token
from tests.integration.order.conftest import NORTH, OrderEnv, a_checkout
from tests.support import running_app


async def test_checkouts_past_the_rate_are_429_per_customer(env: OrderEnv) -> None:
    env.catalog.add_offer("off-1", "sku-1", {NORTH: 50})
    settings = env.settings.model_copy(update={"rate_limit_checkout": "2/minute"})
    app = create_app(settings, catalog_transport=httpx.ASGITransport(app=env.catalog.app))

    def as_customer(customer: str) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {customer_token(settings, customer, 1)}",
            "Idempotency-Key": uuid.uuid4().hex,
        }

    async with running_app(app) as api:
        busy = [
            await api.post("/v1/checkout", json=a_checkout(("off-1", 1)), headers=as_customer("a"))
            for _ in range(3)
        ]
        other = await api.post(
            "/v1/checkout", json=a_checkout(("off-1", 1)), headers=as_customer("b")
        )

    assert [r.status_code for r in busy] == [201, 201, 429]
    assert busy[2].json()["code"] == "rate_limited"
    assert int(busy[2].headers["Retry-After"]) >= 1
    assert other.status_code == 201
    assert await env.scalar("SELECT count(*) FROM orders") == 3
