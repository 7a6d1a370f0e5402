from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select

from dispatch_service.app import MIGRATIONS, create_app
from dispatch_service.auth import issue_operator_token
from dispatch_service.settings import DispatchSettings
from dispatch_service.store.tables import drivers
from dispatch_service.usecases import Policies
from shared import clock
from shared.db import Db
from shared.events import topics
from shared.events.common import GeoPoint
from shared.events.driver import DriverAvailabilityChanged, DriverLocationUpdated
from shared.events.envelope import Payload, encode, wrap
from shared.events.order import OrderReadyForPickup
from shared.malls import pilot_malls
from shared.migrations import upgrade
from tests.support import (
    BOOTSTRAP,
    EventTap,
    create_database,
    eventually,
    running_app,
    test_database_url,
    truncate_all,
)

MALL = next(m for m in pilot_malls() if m.id == "fashion-show-las-vegas")
KM_LAT = 1 / 111.2


@dataclass
class Dispatch:
    api: httpx.AsyncClient
    db: Db
    settings: DispatchSettings
    policies: Policies
    suffix: str
    producer: AIOKafkaProducer

    async def publish(self, payload: Payload, *, key: str) -> None:
        """Into the service through the real broker, as another service's relay would."""
        await self.producer.send_and_wait(
            topics.resolve(payload.TOPIC, self.suffix),
            value=encode(wrap(payload, key=key, producer="test")),
            key=key.encode(),
            headers=[("event_type", payload.TYPE.encode())],
        )

    def operator(self) -> dict[str, str]:
        token = issue_operator_token(self.settings, "test-operator", clock.now())
        return {"Authorization": f"Bearer {token}"}

    async def pool_ids(self, mall_id: str = MALL.id) -> set[UUID]:
        resp = await self.api.get(f"/v1/dispatch/malls/{mall_id}/pool", headers=self.operator())
        assert resp.status_code == 200
        return {UUID(s["shipment_id"]) for s in resp.json()["shipments"]}

    async def wait_for_pool(self, expected: set[UUID], mall_id: str = MALL.id) -> None:
        async def matches() -> bool:
            return await self.pool_ids(mall_id) == expected

        await eventually(matches, within=15)

    async def driver_count(self) -> int:
        async with self.db.begin() as tx:
            return int((await tx.execute(select(func.count()).select_from(drivers))).scalar_one())

    async def add_drivers(self, *events: DriverAvailabilityChanged) -> None:
        before = await self.driver_count()
        for event in events:
            await self.publish(event, key=str(event.driver_id))

        async def all_known() -> bool:
            return await self.driver_count() == before + len(events)

        await eventually(all_known, within=15)

    async def add_shipments(self, *events: OrderReadyForPickup) -> None:
        expected = await self.pool_ids() | {e.shipment_id for e in events}
        for event in events:
            await self.publish(event, key=event.mall_id)
        await self.wait_for_pool(expected)


@pytest.fixture
def dispatch_overrides() -> dict[str, Any]:
    """Settings a test changes: override with @pytest.mark.parametrize("dispatch_overrides")."""
    return {}


@pytest.fixture
def peer_transport() -> httpx.AsyncBaseTransport | None:
    """Where the console's actions reach the order and driver services (None: nowhere)."""
    return None


@pytest.fixture
async def dispatch(
    topic_suffix: str,
    dispatch_overrides: dict[str, Any],
    peer_transport: httpx.AsyncBaseTransport | None,
) -> AsyncIterator[Dispatch]:
    url = test_database_url("DISPATCH", "dispatch")
    await create_database(url)
    # Emptied before the app's relay starts: rows an earlier test left unsent would otherwise
    # be published into this test's topics.
    await asyncio.to_thread(upgrade, MIGRATIONS, url)
    scratch = Db(url, pool_size=1)
    try:
        await truncate_all(scratch)
    finally:
        await scratch.dispose()
    options: dict[str, Any] = {
        "is_timers_enabled": False,
        "solve_seconds": 0.3,
        "drivers_per_offer": 2,
        "relay_poll_seconds": 0.1,
        **dispatch_overrides,
    }
    settings = DispatchSettings(
        database_url=url,
        topic_suffix=topic_suffix,
        consumer_group=f"dispatch{topic_suffix}",
        **options,
    )
    app = create_app(settings, peer_transport=peer_transport)
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP)
    await producer.start()
    try:
        async with running_app(app) as client:
            yield Dispatch(
                client, app.state.db, settings, app.state.policies, topic_suffix, producer
            )
    finally:
        await producer.stop()


@pytest.fixture
async def tap(topic_suffix: str) -> AsyncIterator[EventTap]:
    events = EventTap(topic_suffix, [topics.ROUTES, topics.ZONES])
    await events.start()
    yield events
    await events.stop()


def a_ready_shipment(
    *,
    km_north: float = 3.0,
    due_in: timedelta = timedelta(hours=2),
    packages: int = 1,
    order_id: UUID | None = None,
    now: datetime | None = None,
) -> OrderReadyForPickup:
    at = now or clock.now()
    return OrderReadyForPickup(
        order_id=order_id or uuid4(),
        shipment_id=uuid4(),
        mall_id=MALL.id,
        mall_name=MALL.name,
        store_id="store-fs-12",
        store_name="Lamp & Co",
        pickup_instructions="Service desk, level 2",
        pickup=GeoPoint(lat=MALL.lat + 0.0005, lng=MALL.lng),
        package_count=packages,
        labels=["MTH-1"],
        ready_at=at,
        deliver_by=at + due_in,
        dropoff=GeoPoint(lat=MALL.lat + km_north * KM_LAT, lng=MALL.lng),
        dropoff_address="742 Evergreen Ter, Las Vegas, NV 89109",
        dropoff_area="Las Vegas 89109",
        customer_first_name="Ada",
        pin_sha256=hashlib.sha256(b"4821").hexdigest(),
    )


def a_driver(
    *,
    km_north: float = 1.0,
    capacity: int = 8,
    online: bool = True,
    at: datetime | None = None,
    driver_id: UUID | None = None,
) -> DriverAvailabilityChanged:
    return DriverAvailabilityChanged(
        driver_id=driver_id or uuid4(),
        online=online,
        vehicle_type="car",
        capacity_packages=capacity,
        location=GeoPoint(lat=MALL.lat + km_north * KM_LAT, lng=MALL.lng),
        at=at or clock.now(),
    )


def moved(driver: DriverAvailabilityChanged, at: datetime) -> DriverLocationUpdated:
    assert driver.location is not None
    return DriverLocationUpdated(driver_id=driver.driver_id, location=driver.location, at=at)
