from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from pydantic import SecretStr

from catalog_service import usecases
from catalog_service.app import create_app
from catalog_service.domain.seed import SeedCatalog, generate_catalog
from catalog_service.settings import CatalogSettings
from catalog_service.usecases import CatalogRuntime
from shared.clock import Clock, clock, set_clock
from shared.db import Db
from shared.malls import pilot_malls
from tests.support import EventTap, create_database, running_app, test_database_url, truncate_all

# A Wednesday: 11:00 in Las Vegas, 12:00 in Chandler, 13:00 in Friendswood, 14:00 in Tysons.
WEDNESDAY_MORNING = datetime(2026, 11, 25, 19, 0, tzinfo=UTC)
LAS_VEGAS_STRIP = {"lat": 36.12, "lng": -115.17}
NOWHERE = {"lat": 40.5, "lng": -120.0}  # northern California: 200+ miles from every mall
# Not the settings' default, so a test that passes uses the configured value.
INTERNAL_TOKEN = "catalog-tests-internal-token-0123456789"

_database_created = False


@dataclass
class Catalog:
    api: AsyncClient
    app: FastAPI
    db: Db
    runtime: CatalogRuntime
    seed: SeedCatalog
    keys: dict[str, str]

    def key_of(self, retailer_id: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[retailer_id]}

    @property
    def internal(self) -> dict[str, str]:
        """Headers for the internal endpoints, as the order service sends them."""
        return {"Authorization": f"Bearer {INTERNAL_TOKEN}"}


@pytest.fixture
def wednesday_morning() -> Iterator[None]:
    previous = clock()
    set_clock(Clock(start=WEDNESDAY_MORNING))
    yield
    set_clock(previous)


@pytest.fixture
async def settings(topic_suffix: str) -> CatalogSettings:
    global _database_created
    url = test_database_url("CATALOG", "catalog")
    if not _database_created:
        await create_database(url)
        _database_created = True
    return CatalogSettings(
        database_url=url,
        topic_suffix=topic_suffix,
        consumer_group=f"catalog{topic_suffix}",
        relay_poll_seconds=0.2,
        internal_token=SecretStr(INTERNAL_TOKEN),
    )


@pytest.fixture
async def catalog(settings: CatalogSettings, wednesday_morning: None) -> AsyncIterator[Catalog]:
    """The app over real PostgreSQL and Kafka, with a small seeded catalog loaded."""
    app = create_app(settings)
    async with running_app(app) as api:
        db: Db = app.state.db
        runtime: CatalogRuntime = app.state.catalog
        await truncate_all(db)
        seed = generate_catalog(pilot_malls(), stores_per_mall=3, skus=60)
        keys = {r.id: f"test-key-{r.id}" for r in seed.retailers}
        async with db.begin() as tx:
            await usecases.ensure_malls(tx, settings)
            await usecases.save_seed(tx, seed, keys, WEDNESDAY_MORNING, max_inventory_events=0)
        await runtime.load(db)
        yield Catalog(api, app, db, runtime, seed, keys)


@pytest.fixture
async def tap(topic_suffix: str) -> AsyncIterator[EventTap]:
    events = EventTap(topic_suffix)
    await events.start()
    yield events
    await events.stop()


def body_of(raw: bytes) -> dict[str, object]:
    loaded: dict[str, object] = json.loads(raw)
    return loaded
