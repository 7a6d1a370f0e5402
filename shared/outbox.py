"""Transactional outbox: events are rows written in the same transaction as the state change.

Ordering per partition key is the hard part. Writers of one key serialise on an advisory lock
(class 1) held to commit, and take their row id after it, so per key id order is commit order.
A relay claims whole keys with a second advisory lock (class 2) and publishes a key's rows in id
order; a relay that dies drops its locks with its connection, so nothing stays stuck. A plain
`FOR UPDATE SKIP LOCKED` over rows would let two relays publish one key's rows out of order, and
a global id cursor would skip rows that commit late.

Publishing is at least once: a relay may publish a row again after a crash or a timeout, and
consumers' inbox makes that harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from opentelemetry.trace import Span, StatusCode
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    LargeBinary,
    MetaData,
    Table,
    Text,
    Uuid,
    func,
    text,
)

from shared import tracing
from shared.db import Db, Tx, asyncpg_dsn
from shared.events import topics
from shared.events.envelope import Payload, encode, wrap
from shared.kafka import new_producer

log = logging.getLogger(__name__)

NOTIFY_CHANNEL = "outbox"
_WRITER_LOCK_CLASS = 1
_RELAY_LOCK_CLASS = 2
_producer_name = "unknown"


def set_producer_name(name: str) -> None:
    """The service name stamped on every envelope this process writes."""
    global _producer_name
    _producer_name = name


def define_tables(metadata: MetaData) -> tuple[Table, Table]:
    """The outbox and inbox tables, added to a service's metadata for its migrations."""
    outbox = Table(
        "outbox",
        metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column("event_id", Uuid, nullable=False, unique=True),
        Column("topic", Text, nullable=False),
        Column("key", Text, nullable=False),
        Column("event_type", Text, nullable=False),
        Column("event", LargeBinary, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("sent_at", DateTime(timezone=True)),
        Index("ix_outbox_unsent_key", "key", "id", postgresql_where=text("sent_at IS NULL")),
    )
    inbox = Table(
        "inbox",
        metadata,
        Column("consumer", Text, primary_key=True),
        Column("event_id", Uuid, primary_key=True),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    return outbox, inbox


async def add(
    tx: Tx, payload: Payload, *, key: str, occurred_at: datetime | None = None
) -> None:
    """Adds an event to the outbox inside the caller's transaction."""
    await add_many(tx, [(payload, key)], occurred_at=occurred_at)


async def add_many(
    tx: Tx, events: Sequence[tuple[Payload, str]], *, occurred_at: datetime | None = None
) -> None:
    """Adds (payload, key) events in one round trip each for locks, rows and the wake-up.

    Keys are locked in sorted order so two bulk writers never deadlock on each other.
    """
    if not events:
        return
    for key in sorted({key for _, key in events}):
        await tx.execute(
            text("SELECT pg_advisory_xact_lock(:cls, hashtext(:key))"),
            {"cls": _WRITER_LOCK_CLASS, "key": key},
        )
    rows = []
    trace_context = tracing.current_context()
    for payload, key in events:
        envelope = wrap(
            payload,
            key=key,
            producer=_producer_name,
            occurred_at=occurred_at,
            trace_context=trace_context,
        )
        rows.append(
            {
                "event_id": envelope.event_id,
                "topic": payload.TOPIC,
                "key": key,
                "event_type": payload.TYPE,
                "event": encode(envelope),
            }
        )
    await tx.execute(
        text(
            "INSERT INTO outbox (event_id, topic, key, event_type, event)"
            " VALUES (:event_id, :topic, :key, :event_type, :event)"
        ),
        rows,
    )
    # Delivered at commit, never for a rolled-back transaction; the relay also polls.
    await tx.execute(text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})


async def backlog(db: Db) -> int:
    async with db.begin() as tx:
        result = await tx.execute(text("SELECT count(*) FROM outbox WHERE sent_at IS NULL"))
        return int(result.scalar_one())


async def unsent(db: Db) -> tuple[int, float]:
    """Rows not yet published, and the age in seconds of the oldest of them (0 when none).

    Both by the database's clock, which also stamped `created_at`."""
    async with db.begin() as tx:
        row = (
            await tx.execute(
                text(
                    "SELECT count(*), COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)"
                    " FROM outbox WHERE sent_at IS NULL"
                )
            )
        ).one()
        return int(row[0]), float(row[1])


class OutboxRelay:
    """Publishes committed outbox rows to Kafka, in commit order per key."""

    def __init__(
        self,
        db: Db,
        bootstrap_servers: str,
        *,
        name: str,
        topic_suffix: str = "",
        poll_seconds: float = 0.5,
        send_timeout_seconds: float = 10.0,
        keys_per_batch: int = 50,
        retention_seconds: float = 86_400,
    ) -> None:
        self.db = db
        self.bootstrap_servers = bootstrap_servers
        self.name = name
        self.topic_suffix = topic_suffix
        self.poll_seconds = poll_seconds
        self.send_timeout_seconds = send_timeout_seconds
        self.keys_per_batch = keys_per_batch
        self.retention_seconds = retention_seconds
        self.published_total = 0
        self._producer: AIOKafkaProducer | None = None
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._listener: asyncpg.Connection | None = None
        self._last_purge = 0.0

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"outbox-relay-{self.name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._close_listener()
        await self._close_producer()

    async def _run(self) -> None:
        while True:
            try:
                await self._ensure_listener()
                published = await self.publish_pending()
                if published == 0:
                    self._wakeup.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wakeup.wait(), self.poll_seconds)
                await self._purge_sent()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox_relay_error", extra={"relay": self.name})
                await self._close_producer()
                await asyncio.sleep(min(self.poll_seconds * 4, 2.0))

    async def publish_pending(self) -> int:
        """One pass: claim keys, publish their unsent rows in order, mark them sent."""
        async with self.db.begin() as tx:
            keys = (
                (
                    await tx.execute(
                        text(
                            "SELECT key FROM outbox WHERE sent_at IS NULL"
                            " GROUP BY key ORDER BY min(id) LIMIT :n"
                        ),
                        {"n": self.keys_per_batch},
                    )
                )
                .scalars()
                .all()
            )
            claimed = [key for key in keys if await self._try_claim(tx, key)]
            if not claimed:
                return 0
            rows = (
                await tx.execute(
                    text(
                        "SELECT id, topic, key, event_type, event_id, event FROM outbox"
                        " WHERE sent_at IS NULL AND key = ANY(:keys) ORDER BY id"
                    ),
                    {"keys": claimed},
                )
            ).all()
            await self._publish(rows)
            await tx.execute(
                text("UPDATE outbox SET sent_at = now() WHERE id = ANY(:ids)"),
                {"ids": [row.id for row in rows]},
            )
        self.published_total += len(rows)
        return len(rows)

    async def _try_claim(self, tx: Tx, key: str) -> bool:
        result = await tx.execute(
            text("SELECT pg_try_advisory_xact_lock(:cls, hashtext(:key))"),
            {"cls": _RELAY_LOCK_CLASS, "key": key},
        )
        return bool(result.scalar_one())

    async def _publish(self, rows: Sequence[Any]) -> None:
        producer = await self._get_producer()
        spans: list[Span] = []
        try:
            async with asyncio.timeout(self.send_timeout_seconds):
                # send() queues in order per partition; awaiting the futures waits for acks=all.
                futures = []
                for row in rows:
                    topic = topics.resolve(row.topic, self.topic_suffix)
                    headers = [
                        ("event_type", row.event_type.encode()),
                        ("event_id", str(row.event_id).encode()),
                    ]
                    span = tracing.start_publish(topic, row.event, headers)
                    if span is not None:
                        spans.append(span)
                    futures.append(
                        await producer.send(
                            topic, value=row.event, key=row.key.encode(), headers=headers
                        )
                    )
                await asyncio.gather(*futures)
        except (TimeoutError, KafkaError) as error:
            # A hung or failed send leaves the producer in an unknown state: rebuild it.
            log.warning("outbox_publish_failed", extra={"relay": self.name, "rows": len(rows)})
            for span in spans:
                span.record_exception(error)
                span.set_status(StatusCode.ERROR)
            await self._close_producer()
            raise
        finally:
            for span in spans:
                span.end()

    async def _get_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = new_producer(self.bootstrap_servers, client_id=f"{self.name}-relay")
            await producer.start()
            self._producer = producer
        return self._producer

    async def _close_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(producer.stop(), 5)

    async def _ensure_listener(self) -> None:
        if self._listener is not None and not self._listener.is_closed():
            return
        try:
            self._listener = await asyncpg.connect(asyncpg_dsn(self.db.url), timeout=5)
            await self._listener.add_listener(NOTIFY_CHANNEL, self._on_notify)
        except (OSError, asyncpg.PostgresError, TimeoutError):
            # Polling still publishes everything; LISTEN only makes it prompt.
            self._listener = None

    def _on_notify(self, *_: object) -> None:
        self._wakeup.set()

    async def _close_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None and not listener.is_closed():
            with contextlib.suppress(Exception):
                await listener.close(timeout=2)

    async def _purge_sent(self) -> None:
        now = time.monotonic()
        if now - self._last_purge < 60:
            return
        self._last_purge = now
        async with self.db.begin() as tx:
            await tx.execute(
                text("DELETE FROM outbox WHERE sent_at < now() - make_interval(secs => :keep)"),
                {"keep": self.retention_seconds},
            )
