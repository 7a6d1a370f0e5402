"""The clients the suite serves, each speaking only HTTP: a storefront, a store's POS, a driver app.

The storefront hands every response it receives to the leak scanner, so no customer-facing byte
goes unchecked.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
from standardwebhooks import Webhook

from services.leaks import LeakScanner

Json = dict[str, Any]

FASHION_SHOW = "fashion-show-las-vegas"

# The smallest valid JPEG header is enough: the driver service checks type and size, not pixels.
PROOF_PHOTO = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"


def expect(response: httpx.Response, status: int) -> Json:
    assert response.status_code == status, (
        f"{response.request.method} {response.request.url}: {response.status_code} "
        f"{response.text[:600]}"
    )
    if not response.content:
        return {}
    body: Json = response.json()
    return body


@dataclass
class Storefront:
    """A customer's app: the same-day catalog and the order service's customer API."""

    http: httpx.AsyncClient
    catalog_url: str
    order_url: str
    token: str
    scanner: LeakScanner

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        response = await self.http.request(method, url, **kwargs)
        self.scanner.check(response)
        return response

    async def same_day(self, lat: float, lng: float, **params: Any) -> httpx.Response:
        return await self._send(
            "GET",
            f"{self.catalog_url}/v1/catalog/same-day",
            params={"lat": lat, "lng": lng, **params},
        )

    async def checkout(self, body: Json, idempotency_key: str | None) -> httpx.Response:
        headers = dict(self.auth)
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        return await self._send("POST", f"{self.order_url}/v1/checkout", json=body, headers=headers)

    async def quote(self, body: Json) -> httpx.Response:
        return await self._send(
            "POST",
            f"{self.order_url}/v1/quotes",
            json={"lines": body["lines"], "address": body["address"]},
            headers=self.auth,
        )

    async def tracking(self, path: str) -> httpx.Response:
        """What the shopper's browser fetches for the tracking page: no sign-in."""
        return await self._send("GET", f"{self.order_url}{path}")

    async def order(self, order_id: str, token: str | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else self.auth
        return await self._send("GET", f"{self.order_url}/v1/orders/{order_id}", headers=headers)

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

    async def orders(self, status: str = "new") -> list[Json]:
        response = await self.http.get(
            f"{self.order_url}/v1/retailer/orders",
            params={"status": status},
            headers={"X-API-Key": self.api_key},
        )
        assert response.status_code == 200, response.text
        found: list[Json] = response.json()
        return found

    async def orders_for(self, first_name: str, status: str = "new") -> list[Json]:
        return [o for o in await self.orders(status) if o["customer_first_name"] == first_name]

    async def send(self, event: Json) -> httpx.Response:
        body = orjson.dumps(event)
        message_id = f"msg_{uuid.uuid4().hex}"
        # Signed on the wall clock: the receiver checks the timestamp against its own.
        signed_at = datetime.now(UTC)
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


@dataclass
class DriverApp:
    http: httpx.AsyncClient
    url: str
    driver_id: str
    token: str

    @classmethod
    async def register(cls, http: httpx.AsyncClient, url: str, name: str) -> DriverApp:
        # A number in the 555 fiction exchange, unique per run.
        phone = f"+1702555{uuid.uuid4().int % 10**7:07d}"
        registered = expect(
            await http.post(
                f"{url}/v1/drivers",
                json={"name": name, "phone": phone, "vehicle_type": "car"},
            ),
            201,
        )
        return cls(http, url, registered["driver"]["id"], registered["tokens"]["access_token"])

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def _post(self, path: str, status: int = 200, **kwargs: Any) -> Json:
        return expect(
            await self.http.post(f"{self.url}{path}", headers=self.auth, **kwargs), status
        )

    async def go_online(self, lat: float, lng: float) -> Json:
        return await self._post(
            "/v1/drivers/me/online", json={"location": {"lat": lat, "lng": lng}}
        )

    async def go_offline(self) -> Json:
        return await self._post("/v1/drivers/me/offline")

    async def report_position(self, lat: float, lng: float) -> Json:
        return await self._post("/v1/drivers/me/location", json={"lat": lat, "lng": lng})

    async def offers(self, wait: float) -> list[Json]:
        response = await self.http.get(
            f"{self.url}/v1/drivers/me/offers", params={"wait": wait}, headers=self.auth
        )
        offers: list[Json] = expect(response, 200)["offers"]
        return offers

    async def accept(self, offer_id: str) -> httpx.Response:
        return await self.http.post(f"{self.url}/v1/offers/{offer_id}/accept", headers=self.auth)

    async def route(self, route_id: str) -> Json:
        return expect(
            await self.http.get(f"{self.url}/v1/routes/{route_id}", headers=self.auth), 200
        )

    async def arrive(self, route_id: str, stop: Json) -> Json:
        return await self._post(
            f"/v1/routes/{route_id}/stops/{stop['stop_id']}/arrive",
            json={"position": {"lat": stop["lat"], "lng": stop["lng"]}},
        )

    async def pick_up(self, route_id: str, stop: Json, barcodes: list[str]) -> Json:
        return await self._post(
            f"/v1/routes/{route_id}/stops/{stop['stop_id']}/pickup", json={"barcodes": barcodes}
        )

    async def deliver(self, route_id: str, stop: Json, pin: str | None) -> Json:
        form = {"lat": str(stop["lat"]), "lng": str(stop["lng"])}
        if pin is not None:
            form["pin"] = pin
        return await self._post(
            f"/v1/routes/{route_id}/stops/{stop['stop_id']}/deliver",
            data=form,
            files={"photo": ("doorstep.jpg", PROOF_PHOTO, "image/jpeg")},
        )

    async def fail(self, route_id: str, stop: Json, reason: str) -> Json:
        return await self._post(
            f"/v1/routes/{route_id}/stops/{stop['stop_id']}/fail", json={"reason": reason}
        )

    async def hand_back(self, route_id: str, stop: Json) -> Json:
        return await self._post(f"/v1/routes/{route_id}/stops/{stop['stop_id']}/return")


def stop_of(route: Json, kind: str) -> Json:
    stops = [s for s in route["stops"] if s["kind"] == kind]
    assert len(stops) == 1, (kind, route["stops"])
    stop: Json = stops[0]
    return stop
