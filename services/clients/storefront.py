"""A customer's app, and the leak scanner it shows every response to."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx

from services.clients.common import Json, expect, gated
from services.leaks import LeakScanner


def store_identifiers(directory: Json) -> Iterable[str]:
    """Everything in the catalog's directory that names a store or a mall: no customer-facing
    response may contain any of it."""
    for mall in directory["malls"]:
        yield from (mall["id"], mall["name"], mall["address"])
    for store in directory["stores"]:
        yield from (
            store["id"],
            store["name"],
            store["address"],
            store["phone"],
            store["retailer_id"],
            store["retailer_name"],
            store["pickup_instructions"],
        )


def seeded_scanner(directory: Json) -> LeakScanner:
    scanner = LeakScanner()
    scanner.add(store_identifiers(directory))
    return scanner


@dataclass
class Storefront:
    """A customer's app: the same-day catalog and the order service's customer API."""

    http: httpx.AsyncClient
    catalog_url: str
    order_url: str
    token: str
    scanner: LeakScanner
    # Shared by the shoppers of a simulated crowd, for their order-service calls.
    gate: asyncio.Semaphore | None = None

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def _send(self, method: str, url: str, label: str = "", **kwargs: Any) -> httpx.Response:
        if url.startswith(self.order_url):
            async with gated(self.gate):
                response = await self.http.request(method, url, **kwargs)
        else:
            response = await self.http.request(method, url, **kwargs)
        self.scanner.check(response, label)
        return response

    async def same_day(self, lat: float, lng: float, **params: Any) -> httpx.Response:
        return await self._send(
            "GET",
            f"{self.catalog_url}/v1/catalog/same-day",
            "GET /v1/catalog/same-day",
            params={"lat": lat, "lng": lng, **params},
        )

    async def checkout(self, body: Json, idempotency_key: str | None) -> httpx.Response:
        headers = dict(self.auth)
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        return await self._send(
            "POST", f"{self.order_url}/v1/checkout", "POST /v1/checkout", json=body, headers=headers
        )

    async def quote(self, body: Json) -> httpx.Response:
        return await self._send(
            "POST",
            f"{self.order_url}/v1/quotes",
            "POST /v1/quotes",
            json={"lines": body["lines"], "address": body["address"]},
            headers=self.auth,
        )

    async def tracking(self, path: str) -> httpx.Response:
        """What the shopper's browser fetches for the tracking page: no sign-in."""
        return await self._send("GET", f"{self.order_url}{path}")

    async def order(self, order_id: str, token: str | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else self.auth
        return await self._send(
            "GET",
            f"{self.order_url}/v1/orders/{order_id}",
            "GET /v1/orders/{id}",
            headers=headers,
        )

    async def cancel(self, order_id: str) -> httpx.Response:
        return await self._send(
            "POST", f"{self.order_url}/v1/orders/{order_id}/cancel", headers=self.auth
        )

    async def tip(self, order_id: str, tip_cents: int) -> httpx.Response:
        return await self._send(
            "POST",
            f"{self.order_url}/v1/orders/{order_id}/tip",
            json={"tip_cents": tip_cents},
            headers=self.auth,
        )

    async def api_docs(self) -> list[httpx.Response]:
        """Both customer-facing services' OpenAPI documents: examples must not name stores."""
        return [
            await self._send("GET", f"{url}/openapi.json")
            for url in (self.catalog_url, self.order_url)
        ]

    async def order_view(self, order_id: str) -> Json:
        return expect(await self.order(order_id), 200)

    async def order_in(self, order_id: str, status: str) -> Json | None:
        """The order's view when it has reached `status`, else None (for `eventually`)."""
        view = await self.order_view(order_id)
        return view if view["status"] == status else None
