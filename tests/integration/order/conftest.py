"""The order service on the real broker and database, once per session; tables truncated and
stand-ins reset per test. The catalog and the stores' POS endpoints are tiny ASGI stand-ins."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI, Request, Response
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from standardwebhooks import Webhook

from order_service.app import create_app
from order_service.dev import customer_token
from order_service.settings import OrderSettings
from shared.db import Db
from shared.events import topics
from shared.events.envelope import Payload, encode, wrap
from shared.malls import pilot_malls
from tests.support import (
    BOOTSTRAP,
    EventTap,
    create_database,
    create_test_topics,
    delete_test_topics,
    new_topic_suffix,
    running_app,
    test_database_url,
    truncate_all,
)

MALL = pilot_malls()[0]
OTHER_MALL = pilot_malls()[1]
HOME = {"lat": MALL.lat + 0.02, "lng": MALL.lng + 0.01}


@dataclass(frozen=True)
class StoreInfo:
    store_id: str
    name: str
    mall_id: str
    mall_name: str
    lat: float
    lng: float
    pickup_instructions: str


NORTH = StoreInfo(
    "st-zephyr-north",
    "Zephyr Outfitters North",
    MALL.id,
    MALL.name,
    MALL.lat + 0.001,
    MALL.lng,
    "Desk by the north entrance, ask for Quill",
)
SOUTH = StoreInfo(
    "st-quokka-south",
    "Quokka Home Goods",
    MALL.id,
    MALL.name,
    MALL.lat - 0.001,
    MALL.lng,
    "Loading bay 7, ring the bell",
)
ELSEWHERE = StoreInfo(
    "st-yarrow-east",
    "Yarrow Electronics",
    OTHER_MALL.id,
    OTHER_MALL.name,
    OTHER_MALL.lat,
    OTHER_MALL.lng,
    "Service counter",
)
ALL_STORES = (NORTH, SOUTH, ELSEWHERE)


# The catalog's windows, relative to the test's now: as soon as possible, a slot this evening,
# one tomorrow.
EVENING = timedelta(hours=6)
TOMORROW = timedelta(hours=23)
SLOT = timedelta(hours=2)


def window(kind: str, starts_at: datetime, ends_at: datetime, label: str) -> dict[str, str]:
    return {
        "kind": kind,
        "starts_at": starts_at.isoformat(),
        "ends_at": ends_at.isoformat(),
        "label": label,
    }


# Not the settings' default: a checkout that passes proves the order service sends its setting.
CATALOG_INTERNAL_TOKEN = "order-tests-catalog-internal-token-0123456789"


class CatalogStandIn:
    """The catalog's internal offer contract, nothing more: its bearer token, then a cart's
    offers at once."""

    def __init__(self, internal_token: str) -> None:
        self.internal_token = internal_token
        self.offers: dict[str, dict[str, Any]] = {}
        self.is_down = False
        self.gate: asyncio.Event | None = None
        self.calls = 0
        # Every path asked for, matched by a route or not: "../stores" must never reach one.
        self.requested: list[str] = []
        self.app = FastAPI()

        @self.app.middleware("http")
        async def record(request: Request, call_next: Any) -> Response:
            self.requested.append(request.url.path)
            response: Response = await call_next(request)
            return response

        @self.app.get("/v1/offers")
        async def offers(request: Request) -> Response:
            self.calls += 1
            if request.headers.get("Authorization") != f"Bearer {self.internal_token}":
                return Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})
            if self.gate is not None:
                await self.gate.wait()
            if self.is_down:
                return Response(status_code=503)
            asked = list(dict.fromkeys(request.query_params.getlist("offer_id")))
            body = {
                "offers": [self.offers[o] for o in asked if o in self.offers],
                "unknown": [o for o in asked if o not in self.offers],
            }
            return Response(httpx.Response(200, json=body).content, media_type="application/json")

    def reset(self) -> None:
        self.internal_token = CATALOG_INTERNAL_TOKEN
        self.offers.clear()
        self.is_down = False
        self.gate = None
        self.calls = 0
        self.requested.clear()

    def add_offer(
        self,
        offer_id: str,
        sku: str,
        stock: dict[StoreInfo, int],
        price_cents: int = 2500,
        area: tuple[float, float, int] | None = None,
    ) -> None:
        # By default the offer reaches every address the tests use; area tests pass their own.
        lat, lng, radius_m = area or (MALL.lat, MALL.lng, 5_000_000)
        now = datetime.now(UTC).replace(microsecond=0)
        self.offers[offer_id] = {
            "offer_id": offer_id,
            "sku": sku,
            "title": f"Item {sku}",
            "price_cents": price_cents,
            "currency": "USD",
            "deliver_by": (now + timedelta(hours=4)).isoformat(),
            "windows": [
                window("asap", now, now + timedelta(minutes=45), "by soon"),
                window("scheduled", now + EVENING, now + EVENING + SLOT, "this evening"),
                window("scheduled", now + TOMORROW, now + TOMORROW + SLOT, "tomorrow"),
            ],
            "stores": [
                {
                    "store_id": s.store_id,
                    "store_name": s.name,
                    "mall_id": s.mall_id,
                    "mall_name": s.mall_name,
                    "lat": s.lat,
                    "lng": s.lng,
                    "quantity": quantity,
                    "prep_minutes": 15,
                    "pickup_instructions": s.pickup_instructions,
                }
                for s, quantity in stock.items()
            ],
            "delivery_area": {"lat": lat, "lng": lng, "radius_m": radius_m},
        }


@dataclass
class PosReceiver:
    """The webhook endpoints of stores (/hooks/{store_id}) and of the storefront
    (/storefront/{name}): records each request; a store's fail the first `failures` ones, any
    path answers what `answer` says when set, and a path in `hold` waits for its event first."""

    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    storefront: dict[str, list[tuple[dict[str, str], bytes]]] = field(default_factory=dict)
    failures: int = 0
    answer: Callable[[str], int] | None = None
    hold: dict[str, asyncio.Event] = field(default_factory=dict)
    in_flight: set[str] = field(default_factory=set)
    app: FastAPI = field(default_factory=FastAPI)

    def __post_init__(self) -> None:
        @self.app.post("/hooks/{store_id}")
        async def hook(store_id: str, request: Request) -> Response:
            path = f"/hooks/{store_id}"
            headers, body = dict(request.headers), await request.body()
            await self._wait(path)
            self.received.append((headers, body))
            if self.answer is not None:
                return Response(status_code=self.answer(path))
            if self.failures > 0:
                self.failures -= 1
                return Response(status_code=500)
            return Response(status_code=204)

        @self.app.post("/storefront/{name}")
        async def storefront(name: str, request: Request) -> Response:
            path = f"/storefront/{name}"
            headers, body = dict(request.headers), await request.body()
            await self._wait(path)
            self.storefront.setdefault(name, []).append((headers, body))
            return Response(status_code=self.answer(path) if self.answer else 204)

    async def _wait(self, path: str) -> None:
        gate = self.hold.get(path)
        if gate is None:
            return
        self.in_flight.add(path)
        try:
            await gate.wait()
        finally:
            self.in_flight.discard(path)

    def reset(self) -> None:
        self.received.clear()
        self.storefront.clear()
        self.failures = 0
        self.answer = None
        for gate in self.hold.values():
            gate.set()
        self.hold.clear()


@dataclass
class OrderEnv:
    app: FastAPI
    client: httpx.AsyncClient
    db: Db
    settings: OrderSettings
    catalog: CatalogStandIn
    pos: PosReceiver
    suffix: str
    tap: EventTap
    producer: AIOKafkaProducer

    def customer(self, customer_id: str = "cust-1") -> dict[str, str]:
        return {"Authorization": f"Bearer {customer_token(self.settings, customer_id, 1)}"}

    async def publish(self, payload: Payload, key: str) -> None:
        """Into the service through the real broker."""
        await self.producer.send_and_wait(
            topics.resolve(payload.TOPIC, self.suffix),
            value=encode(wrap(payload, key=key, producer="test")),
            key=key.encode(),
            headers=[("event_type", payload.TYPE.encode())],
        )

    async def scalar(self, sql: str, **params: Any) -> Any:
        async with self.db.begin() as tx:
            return (await tx.execute(text(sql), params)).scalar()

    async def provision(self, store: StoreInfo, with_webhook: bool = True) -> tuple[str, str]:
        body = {"webhook_url": f"http://pos.test/hooks/{store.store_id}"} if with_webhook else {}
        resp = await self.client.post(
            f"/v1/admin/stores/{store.store_id}/pos-credentials",
            json=body,
            headers={"Authorization": f"Bearer {self.settings.operator_token}"},
        )
        assert resp.status_code == 201, resp.text
        return resp.json()["api_key"], resp.json()["webhook_secret"]

    async def checkout(
        self, *lines: tuple[str, int], customer: str = "cust-1", key: str | None = None
    ) -> httpx.Response:
        return await self.client.post(
            "/v1/checkout",
            json=a_checkout(*lines),
            headers={**self.customer(customer), "Idempotency-Key": key or uuid.uuid4().hex},
        )

    async def pos_event(
        self,
        api_key: str,
        secret: str,
        body: dict[str, Any],
        *,
        webhook_id: str | None = None,
        signed_at: datetime | None = None,
    ) -> httpx.Response:
        raw = httpx.Request("POST", "/", json=body).content
        return await self.client.post(
            "/v1/retailer/events",
            content=raw,
            headers=signed_headers(api_key, secret, raw, webhook_id, signed_at),
        )


def signed_headers(
    api_key: str,
    secret: str,
    raw: bytes,
    webhook_id: str | None = None,
    signed_at: datetime | None = None,
) -> dict[str, str]:
    webhook_id = webhook_id or f"msg_{uuid.uuid4().hex}"
    at = signed_at or datetime.now(UTC)
    return {
        "content-type": "application/json",
        "x-api-key": api_key,
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(webhook_id, at, raw.decode()),
    }


def a_checkout(*lines: tuple[str, int]) -> dict[str, Any]:
    return {
        "lines": [{"offer_id": offer_id, "quantity": quantity} for offer_id, quantity in lines],
        "address": {
            "line1": "4821 Wisteria Lane",
            "line2": "Apt 12",
            "city": "Las Vegas",
            "region": "NV",
            "postal_code": "89109",
            **HOME,
            "instructions": "Leave with the concierge",
        },
        "contact": {"name": "Harriet Okonkwo", "phone": "+1 702 555 0142"},
    }


@pytest.fixture(scope="session")
async def order_session() -> AsyncIterator[OrderEnv]:
    suffix = new_topic_suffix()
    await create_test_topics(suffix)
    url = test_database_url("ORDER", "orders")
    await create_database(url)
    settings = OrderSettings(
        database_url=url,
        topic_suffix=suffix,
        consumer_group=f"order{suffix}",
        relay_poll_seconds=0.1,
        db_pool_size=10,
        catalog_internal_token=SecretStr(CATALOG_INTERNAL_TOKEN),
        catalog_timeout_seconds=1.0,
        catalog_backoff_seconds=0.01,
        webhook_poll_seconds=0.1,
        webhook_backoff_seconds=0.1,
        # One app serves the whole session, mostly as one customer; the limits have own tests.
        rate_limit_checkout="100000/minute",
        rate_limit_orders="100000/minute",
    )
    catalog, receiver = CatalogStandIn(CATALOG_INTERNAL_TOKEN), PosReceiver()
    app = create_app(
        settings,
        catalog_transport=httpx.ASGITransport(app=catalog.app),
        webhook_transport=httpx.ASGITransport(app=receiver.app),
    )
    tap = EventTap(suffix, [topics.ORDERS])
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP)
    await producer.start()
    await tap.start()
    try:
        async with running_app(app) as client:
            yield OrderEnv(
                app, client, app.state.db, settings, catalog, receiver, suffix, tap, producer
            )
    finally:
        await tap.stop()
        await producer.stop()
        await delete_test_topics(suffix)


@pytest.fixture
async def env(order_session: OrderEnv) -> OrderEnv:
    # The app's background loops keep running: TRUNCATE may deadlock with one; it then retries.
    for attempt in range(5):
        try:
            await truncate_all(order_session.db)
            break
        except DBAPIError as error:
            if "deadlock" not in str(error) or attempt == 4:
                raise
    order_session.catalog.reset()
    order_session.pos.reset()
    return order_session
