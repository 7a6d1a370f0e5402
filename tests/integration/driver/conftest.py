from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI

from driver_service.app import create_app
from driver_service.settings import DriverSettings
from shared import clock
from shared.events import topics
from shared.events.common import GeoPoint
from shared.events.dispatch import RouteOffered, RouteStop, StopKind
from shared.events.envelope import Payload, encode, wrap
from shared.malls import pilot_malls
from tests.support import (
    BOOTSTRAP,
    EventTap,
    create_database,
    running_app,
    test_database_url,
    truncate_all,
)

MALL = pilot_malls()[0]
STORE_POINT = GeoPoint(lat=MALL.lat + 0.0004, lng=MALL.lng)
HOME = GeoPoint(lat=36.1447, lng=-115.1570)
HOME_ADDRESS = "2000 Example Ave, Las Vegas, NV 89109"
PIN = "4821"


@dataclass
class Service:
    app: FastAPI
    client: httpx.AsyncClient
    settings: DriverSettings


@dataclass
class Driver:
    id: uuid.UUID
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


@pytest.fixture
async def service(topic_suffix: str) -> AsyncIterator[Service]:
    url = test_database_url("DRIVER", "drivers")
    await create_database(url)
    settings = DriverSettings(
        database_url=url,
        topic_suffix=topic_suffix,
        consumer_group=f"driver{topic_suffix}",
        relay_poll_seconds=0.2,
        db_pool_size=20,
        # Tests sign up many drivers from one address; the limit has tests of its own.
        rate_limit_sign_in="100000/minute",
    )
    app = create_app(settings)
    async with running_app(app) as client:
        await truncate_all(app.state.db)
        await app.state.offer_hub.resync()
        yield Service(app, client, settings)


@pytest.fixture
async def second_instance(service: Service) -> AsyncIterator[httpx.AsyncClient]:
    """Another instance of the service on the same database and topics, as in production."""
    app = create_app(service.settings)
    async with running_app(app) as client:
        yield client


@pytest.fixture
async def api(service: Service) -> httpx.AsyncClient:
    return service.client


@pytest.fixture
async def tap(topic_suffix: str) -> AsyncIterator[EventTap]:
    event_tap = EventTap(topic_suffix, [topics.DRIVER_ACTIVITY, topics.DRIVERS])
    await event_tap.start()
    yield event_tap
    await event_tap.stop()


@pytest.fixture
async def producer() -> AsyncIterator[AIOKafkaProducer]:
    kafka = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, acks="all")
    await kafka.start()
    yield kafka
    await kafka.stop()


async def publish(kafka: AIOKafkaProducer, suffix: str, payload: Payload, key: str) -> None:
    await kafka.send_and_wait(
        topics.resolve(payload.TOPIC, suffix),
        encode(wrap(payload, key=key, producer="test")),
        key=key.encode(),
        headers=[("event_type", payload.TYPE.encode())],
    )


async def register(api: httpx.AsyncClient, name: str = "Dana") -> Driver:
    phone = f"+1702{uuid.uuid4().int % 10_000_000:07d}"
    resp = await api.post("/v1/drivers", json={"name": name, "phone": phone, "vehicle_type": "car"})
    assert resp.status_code == 201, resp.text
    body = resp.json()
    return Driver(
        uuid.UUID(body["driver"]["id"]),
        body["tokens"]["access_token"],
        body["tokens"]["refresh_token"],
    )


def an_offer(
    driver_ids: list[uuid.UUID],
    *,
    expires_in: timedelta = timedelta(minutes=5),
    labels: tuple[str, ...] = ("PKG-1", "PKG-2"),
    pin: str | None = PIN,
    now: datetime | None = None,
    **overrides: Any,
) -> RouteOffered:
    at = now or clock.now()
    route_id, shipment_id, order_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    common: dict[str, Any] = {
        "shipment_id": shipment_id,
        "order_id": order_id,
        "store_id": "store-fs-zara",
        "store_name": "Zara",
        "package_count": len(labels),
        "labels": list(labels),
        "deliver_by": at + timedelta(hours=3),
    }
    stops = [
        RouteStop(
            stop_id=uuid.uuid4(),
            sequence=0,
            kind=StopKind.PICKUP,
            location=STORE_POINT,
            address="Fashion Show Mall, north entrance, level 1",
            area="Las Vegas Strip",
            instructions="Zara pickup desk by the north entrance",
            eta=at + timedelta(minutes=15),
            **common,
        ),
        RouteStop(
            stop_id=uuid.uuid4(),
            sequence=1,
            kind=StopKind.DROPOFF,
            location=HOME,
            address=HOME_ADDRESS,
            area="Las Vegas 89109",
            eta=at + timedelta(minutes=40),
            pin_sha256=hashlib.sha256(pin.encode()).hexdigest() if pin else None,
            **common,
        ),
    ]
    values: dict[str, Any] = {
        "offer_id": uuid.uuid4(),
        "route_id": route_id,
        "mall_id": MALL.id,
        "mall_name": MALL.name,
        "driver_ids": driver_ids,
        "pay_cents": 2400,
        "hourly_floor_cents": 1800,
        "block_minutes": 60,
        "expected_miles": 6.5,
        "stop_count": 2,
        "pickup_area": "Las Vegas Strip",
        "stops": stops,
        "expires_at": at + expires_in,
        "round": 1,
    }
    values.update(overrides)
    return RouteOffered(**values)
