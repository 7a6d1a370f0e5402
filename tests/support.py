"""Test helpers against the real broker and database (no fakes of either)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.engine import make_url

from services.infra import database_url, kafka_bootstrap
from services.topics import delete_topics
from shared.db import Db, asyncpg_dsn
from shared.events import topics
from shared.events.envelope import Envelope, Payload, decode
from shared.kafka import ensure_topics

P = TypeVar("P", bound=Payload)

BOOTSTRAP = kafka_bootstrap()


def test_database_url(service_env_prefix: str, default_db: str) -> str:
    """A database of its own for tests, beside the service's, so `make up` data is untouched."""
    base = os.environ.get(f"{service_env_prefix}_DATABASE_URL") or database_url(default_db)
    url = make_url(base)
    return url.set(database=f"{url.database}_test").render_as_string(hide_password=False)


# Named for what it gives, not a test: keep pytest from collecting it where it is imported.
test_database_url.__test__ = False  # type: ignore[attr-defined]


async def create_database(url: str) -> None:
    parsed = make_url(url)
    admin = await asyncpg.connect(
        asyncpg_dsn(parsed.set(database="postgres").render_as_string(hide_password=False))
    )
    try:
        exists = await admin.fetchval(
            "SELECT 1 FROM pg_database WHERE datname = $1", parsed.database
        )
        if not exists:
            with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                await admin.execute(f'CREATE DATABASE "{parsed.database}"')
    finally:
        await admin.close()


async def truncate_all(db: Db) -> None:
    async with db.begin() as tx:
        names = (
            (
                await tx.execute(
                    text(
                        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                        " AND tablename <> 'alembic_version'"
                    )
                )
            )
            .scalars()
            .all()
        )
        if names:
            await tx.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"))


def new_topic_suffix() -> str:
    return f".t{uuid.uuid4().hex[:10]}"


async def create_test_topics(suffix: str) -> None:
    await ensure_topics(BOOTSTRAP, suffix)


async def delete_test_topics(suffix: str) -> None:
    await delete_topics(BOOTSTRAP, suffix)


class EventTap:
    """Reads a test's topics from the start and hands out decoded events."""

    def __init__(self, suffix: str, topic_names: list[str] | None = None) -> None:
        self.suffix = suffix
        names = topic_names or list(topics.PARTITIONS)
        self.topics = [topics.resolve(t, suffix) for t in names]
        self.seen: list[Envelope[Payload]] = []
        self.raw: list[Any] = []
        self._consumer: AIOKafkaConsumer | None = None
        self._cursor = 0

    async def start(self) -> None:
        self._consumer = AIOKafkaConsumer(
            *self.topics,
            bootstrap_servers=BOOTSTRAP,
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await self._consumer.start()

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()

    async def _poll(self, timeout: float) -> None:
        assert self._consumer is not None
        batches = await self._consumer.getmany(timeout_ms=int(timeout * 1000))
        for records in batches.values():
            for record in records:
                self.raw.append(record)
                with contextlib.suppress(ValueError, TypeError):
                    self.seen.append(decode(record.value or b""))

    async def next(
        self,
        cls: type[P],
        within: float = 10.0,
        where: Callable[[P], bool] | None = None,
    ) -> Envelope[P]:
        """The next not-yet-returned event of that class (matching `where`), or AssertionError."""
        deadline = time.monotonic() + within
        while True:
            for index in range(self._cursor, len(self.seen)):
                envelope = self.seen[index]
                payload = envelope.payload
                if isinstance(payload, cls) and (where is None or where(payload)):
                    self.seen.pop(index)
                    return envelope  # type: ignore[return-value]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {cls.TYPE} event within {within} s")
            await self._poll(min(0.5, remaining))

    async def collect(self, within: float) -> list[Envelope[Payload]]:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            await self._poll(min(0.5, deadline - time.monotonic()))
        return list(self.seen)


@contextlib.asynccontextmanager
async def running_app(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Runs the app's lifespan (migrations, relay, consumers) and a client over ASGI."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def eventually(check: Callable[[], Any], within: float = 10.0, interval: float = 0.1) -> Any:
    """Polls an (async or sync) check until it returns a truthy value; never a fixed sleep."""
    deadline = time.monotonic() + within
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {within} s (last value: {last!r})")


def metric_value(exposition: str, name: str, **labels: str) -> float:
    """The sum of the samples named `name` whose labels include `labels` (0.0 when none), in
    Prometheus text as /metrics serves it."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )


# The series a metric family of each type exposes, beside its own name.
SERIES_SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("_sum", "_count", "_created"),
    "gauge": (),
    "info": ("_info",),
}


def metric_names(exposition: str) -> set[str]:
    """Every series name a PromQL expression could select from this /metrics text, whether or
    not a labelled metric has samples yet."""
    names: set[str] = set()
    for family in text_string_to_metric_families(exposition):
        names.add(family.name)
        names.update(family.name + suffix for suffix in SERIES_SUFFIXES.get(family.type, ()))
        names.update(sample.name for sample in family.samples)
    return names


async def scrape(client: httpx.AsyncClient) -> str:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    return response.text
