"""A store's point of sale, and the webhook endpoints the order service pushes to."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
import orjson
from standardwebhooks import Webhook

from services.clients.common import Json, expect, gated


@dataclass(frozen=True)
class Delivery:
    store_id: str
    headers: dict[str, str]
    body: bytes


@dataclass
class WebhookInbox:
    """What the order service pushed to the stores' webhook endpoints, as they received it."""

    url: str = ""
    deliveries: list[Delivery] = field(default_factory=list)
    # What the storefront's endpoints received (store_id holds the endpoint's name).
    storefront: list[Delivery] = field(default_factory=list)

    def endpoint(self, store_id: str) -> str:
        return f"{self.url}/hooks/{store_id}"

    def storefront_endpoint(self, name: str) -> str:
        return f"{self.url}/storefront/{name}"

    def events_for(self, store_id: str, secret: str, shipment_id: str | None = None) -> list[Json]:
        """The store's events (about one shipment, if named); raises if one is not signed with
        the store's webhook secret."""
        events = []
        for delivery in self.deliveries:
            if delivery.store_id != store_id:
                continue
            # Only the deliveries asked about are verified: a signature is good for 5 minutes,
            # and earlier tests' deliveries stay in the inbox.
            if shipment_id is not None and _shipment_of(delivery.body) != shipment_id:
                continue
            verified: Json = Webhook(secret).verify(delivery.body, delivery.headers)
            events.append(verified)
        return events


def _shipment_of(body: bytes) -> object:
    try:
        data = orjson.loads(body).get("data")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    return data.get("shipment_id") if isinstance(data, dict) else None


@dataclass
class Pos:
    """One store's point of sale: pulls its orders, pushes Standard Webhooks-signed events."""

    http: httpx.AsyncClient
    order_url: str
    store_id: str
    api_key: str
    webhook_secret: str
    # The stores' own: a POS does not queue behind the shoppers' calls.
    gate: asyncio.Semaphore | None = None

    def pushed(self, inbox: WebhookInbox, event_type: str, shipment_id: str) -> Json | None:
        """The event of that type about that shipment the store's endpoint received, if any."""
        return next(
            (
                event
                for event in inbox.events_for(self.store_id, self.webhook_secret, shipment_id)
                if event["type"] == event_type and event["data"]["shipment_id"] == shipment_id
            ),
            None,
        )

    async def list_orders(self, status: str = "new") -> httpx.Response:
        async with gated(self.gate):
            return await self.http.get(
                f"{self.order_url}/v1/retailer/orders",
                params={"status": status},
                headers={"X-API-Key": self.api_key},
            )

    async def orders(self, status: str = "new") -> list[Json]:
        response = await self.list_orders(status)
        assert response.status_code == 200, response.text
        found: list[Json] = response.json()
        return found

    async def orders_for(self, first_name: str, status: str = "new") -> list[Json]:
        return [o for o in await self.orders(status) if o["customer_first_name"] == first_name]

    async def send(self, event: Json) -> httpx.Response:
        body = orjson.dumps(event)
        message_id = f"msg_{uuid.uuid4().hex}"
        # Signed on the wall clock: the receiver checks the timestamp against its own, whatever
        # the suite's clock says.
        signed_at = datetime.now(UTC)
        async with gated(self.gate):
            return await self.http.post(
                f"{self.order_url}/v1/retailer/events",
                content=body,
                headers={
                    "Content-Type": "application/json",
                    "X-API-Key": self.api_key,
                    "webhook-id": message_id,
                    "webhook-timestamp": str(int(signed_at.timestamp())),
                    "webhook-signature": Webhook(self.webhook_secret).sign(
                        message_id, signed_at, body.decode()
                    ),
                },
            )

    async def accept(self, shipment_id: str) -> Json:
        return expect(await self.send({"type": "accepted", "shipment_id": shipment_id}), 200)

    async def packaged(self, shipment_id: str, labels: list[str]) -> Json:
        return expect(
            await self.send({"type": "packaged", "shipment_id": shipment_id, "labels": labels}),
            200,
        )

    async def out_of_stock(self, shipment_id: str, skus: list[str]) -> Json:
        body = {
            "type": "out_of_stock",
            "shipment_id": shipment_id,
            "lines": [{"sku": sku} for sku in skus],
        }
        return expect(await self.send(body), 200)

    async def restocked(self, shipment_id: str) -> Json:
        return expect(await self.send({"type": "restocked", "shipment_id": shipment_id}), 200)

    async def stock(self, sku: str) -> Json:
        response = await self.http.get(
            f"{self.order_url}/v1/retailer/stock/{sku}", headers={"X-API-Key": self.api_key}
        )
        return expect(response, 200)
