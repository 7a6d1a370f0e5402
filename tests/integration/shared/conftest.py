from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, ClassVar

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, Text

from shared.consumer import ConsumerRunner, Handler
from shared.db import Db
from shared.events import topics
from shared.events.envelope import Payload, register
from shared.tables import service_metadata
from tests.support import BOOTSTRAP, create_database, test_database_url, truncate_all


@register
class Ping(Payload):
    """A test-only event on the orders topic."""

    TYPE: ClassVar[str] = "test.ping"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = topics.ORDERS

    key: str
    n: int


metadata: MetaData = service_metadata()
effects = Table(
    "effects",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", Text, nullable=False),
    Column("n", Integer, nullable=False),
)

_created = False


@pytest.fixture
async def db() -> AsyncIterator[Db]:
    global _created
    url = test_database_url("SHARED", "shared")
    database = Db(url, pool_size=20)
    if not _created:
        await create_database(url)
        async with database.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        _created = True
    await truncate_all(database)
    yield database
    await database.dispose()


def runner(
    db: Db,
    suffix: str,
    handler: Handler,
    group: str = "g",
    *,
    topic: str = topics.ORDERS,
    **options: Any,
) -> ConsumerRunner:
    """A consumer of the tests' Ping events on one topic, retrying quickly."""
    return ConsumerRunner(
        db,
        BOOTSTRAP,
        name="test",
        group_id=f"{group}{suffix}",
        topic_names=[topic],
        handlers={Ping.TYPE: handler},
        topic_suffix=suffix,
        retry_backoff_seconds=0.05,
        **options,
    )
