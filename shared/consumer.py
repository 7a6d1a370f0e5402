"""Consumer runner: each message is handled in one DB transaction with an inbox row.

The Kafka offset is committed only after that transaction commits, so a crash between the two
redelivers the message, and the inbox (keyed by consumer and event id) turns the redelivery into
a no-op. A handler that keeps failing sends the message to `<topic>.dlq` with the error and the
original headers; nothing is dropped silently. While a slow handler runs, the runner keeps
polling with its partitions paused, so the group does not evict it and rebalance forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import traceback
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from sqlalchemy import text

from shared import tracing
from shared.db import Db, Tx
from shared.events import topics
from shared.events.envelope import Envelope, Payload, decode
from shared.kafka import new_producer
from shared.logging import trace_id_var

log = logging.getLogger(__name__)

Handler = Callable[[Tx, Envelope[Any]], Awaitable[None]]


@dataclass
class ConsumerStats:
    handled: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    lag: dict[str, int] = field(default_factory=dict)


class ConsumerRunner:
    def __init__(
        self,
        db: Db,
        bootstrap_servers: str,
        *,
        name: str,
        group_id: str,
        topic_names: list[str],
        handlers: Mapping[str, Handler],
        topic_suffix: str = "",
        max_attempts: int = 3,
        retry_backoff_seconds: float = 0.2,
        max_poll_interval_ms: int = 300_000,
        session_timeout_ms: int = 10_000,
        heartbeat_interval_ms: int = 3_000,
    ) -> None:
        self.db = db
        self.bootstrap_servers = bootstrap_servers
        self.name = name
        self.group_id = group_id
        self.topics = [topics.resolve(t, topic_suffix) for t in topic_names]
        self.handlers = dict(handlers)
        self.max_attempts = max_attempts
        self.retry_backoff_seconds = retry_backoff_seconds
        self.max_poll_interval_ms = max_poll_interval_ms
        self.session_timeout_ms = session_timeout_ms
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.stats = ConsumerStats()
        self._consumer: AIOKafkaConsumer | None = None
        self._dlq_producer: AIOKafkaProducer | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        self._consumer = AIOKafkaConsumer(
            *self.topics,
            bootstrap_servers=self.bootstrap_servers,
            group_id=self.group_id,
            client_id=f"{self.name}-consumer",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_interval_ms=self.max_poll_interval_ms,
            session_timeout_ms=self.session_timeout_ms,
            heartbeat_interval_ms=self.heartbeat_interval_ms,
            max_poll_records=200,
        )
        await self._consumer.start()
        self._task = asyncio.create_task(self._run(), name=f"consumer-{self.name}")

    async def stop(self) -> None:
        """Finishes the message in hand, commits, then leaves the group."""
        self._stopping.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                try:
                    await asyncio.wait_for(asyncio.shield(self._task), 15)
                except TimeoutError:
                    self._task.cancel()
                    await self._task
            self._task = None
        if self._consumer is not None:
            with contextlib.suppress(Exception):
                await self._consumer.stop()
            self._consumer = None
        if self._dlq_producer is not None:
            with contextlib.suppress(Exception):
                await self._dlq_producer.stop()
            self._dlq_producer = None

    @property
    def consumer(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            raise RuntimeError("consumer not started")
        return self._consumer

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                batches = await self.consumer.getmany(timeout_ms=500)
                for tp, records in batches.items():
                    if self._stopping.is_set():
                        break
                    await self._handle_partition_batch(tp, records)
                await self._record_lag()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("consumer_loop_error", extra={"consumer": self.name})
                await asyncio.sleep(1)

    async def _handle_partition_batch(
        self, tp: TopicPartition, records: list[ConsumerRecord[bytes, bytes]]
    ) -> None:
        last_done: int | None = None
        for record in records:
            if self._stopping.is_set():
                break
            await self._keep_polling_while(self._handle_record(record))
            last_done = record.offset
        if last_done is not None:
            try:
                await self.consumer.commit({tp: last_done + 1})
            except (CommitFailedError, KafkaError) as error:
                # The partition moved to another member: it will redeliver, the inbox dedupes.
                log.warning(
                    "offset_commit_failed",
                    extra={"consumer": self.name, "partition": str(tp), "error": str(error)},
                )

    async def _keep_polling_while(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        paused = False
        try:
            while not task.done():
                done, _ = await asyncio.wait({task}, timeout=1.0)
                if done:
                    break
                # Slow handler: poll with everything paused so the group keeps us as a member.
                assignment = self.consumer.assignment()
                if not paused:
                    self.consumer.pause(*assignment)
                    paused = True
                fetched = await self.consumer.getmany(timeout_ms=100)
                if any(fetched.values()):
                    log.error("consumer_fetched_while_paused", extra={"consumer": self.name})
        finally:
            if paused:
                self.consumer.resume(*self.consumer.assignment())
        await task

    async def _handle_record(self, record: ConsumerRecord[bytes, bytes]) -> None:
        event_type = _header(record, "event_type")
        if event_type is None:
            event_type = _peek_type(record.value)
        if event_type is None:
            await self._dead_letter(record, "not an event envelope: no type", attempts=0)
            return
        if event_type not in self.handlers:
            return  # another consumer's event on a shared topic
        handler = self.handlers[event_type]
        try:
            envelope = decode(record.value or b"")
        except (ValueError, TypeError) as error:
            await self._dead_letter(record, f"undecodable event: {error}", attempts=0)
            return
        if not tracing.enabled():
            # Each record runs in its own task, so this trace id stays with this record only.
            trace_id_var.set(envelope.trace_id)
            await self._handle_with_retries(record, handler, envelope, event_type)
            return
        attributes = {
            "messaging.consumer.group.name": self.group_id,
            "messaging.message.id": str(envelope.event_id),
            "messaging.kafka.message.key": envelope.key,
            "messaging.kafka.offset": record.offset,
            "messaging.destination.partition.id": str(record.partition),
        }
        with tracing.consuming(
            record.topic, record.headers or (), attributes, envelope.trace_context
        ):
            trace_id_var.set(tracing.current_trace_id() or envelope.trace_id)
            await self._handle_with_retries(record, handler, envelope, event_type)

    async def _handle_with_retries(
        self,
        record: ConsumerRecord[bytes, bytes],
        handler: Handler,
        envelope: Envelope[Payload],
        event_type: str,
    ) -> None:
        for attempt in range(1, self.max_attempts + 1):
            try:
                await self._apply(handler, envelope)
                return
            except Exception as error:
                log.warning(
                    "handler_failed",
                    extra={
                        "consumer": self.name,
                        "event_type": event_type,
                        "event_id": str(envelope.event_id),
                        "attempt": attempt,
                        "error": f"{type(error).__name__}: {error}",
                    },
                )
                if attempt == self.max_attempts:
                    await self._dead_letter(
                        record,
                        "".join(traceback.format_exception_only(error)).strip(),
                        attempts=attempt,
                    )
                    return
                await asyncio.sleep(self.retry_backoff_seconds * attempt)

    async def _apply(self, handler: Handler, envelope: Envelope[Payload]) -> None:
        async with self.db.begin() as tx:
            inserted = await tx.execute(
                text(
                    "INSERT INTO inbox (consumer, event_id) VALUES (:consumer, :event_id)"
                    " ON CONFLICT DO NOTHING RETURNING 1"
                ),
                {"consumer": self.group_id, "event_id": envelope.event_id},
            )
            if inserted.first() is None:
                self.stats.duplicates += 1
                return
            await handler(tx, envelope)
        self.stats.handled += 1

    async def _dead_letter(
        self, record: ConsumerRecord[bytes, bytes], error: str, attempts: int
    ) -> None:
        if self._dlq_producer is None:
            self._dlq_producer = new_producer(self.bootstrap_servers, f"{self.name}-dlq")
            await self._dlq_producer.start()
        headers = [
            *list(record.headers or []),
            ("dlq_error", error.encode()[:4000]),
            ("dlq_consumer", self.group_id.encode()),
            ("dlq_attempts", str(attempts).encode()),
            ("dlq_original_topic", record.topic.encode()),
            ("dlq_original_partition", str(record.partition).encode()),
            ("dlq_original_offset", str(record.offset).encode()),
        ]
        await self._dlq_producer.send_and_wait(
            topics.dead_letter(record.topic), value=record.value, key=record.key, headers=headers
        )
        self.stats.dead_lettered += 1
        log.error(
            "event_dead_lettered",
            extra={
                "consumer": self.name,
                "topic": record.topic,
                "offset": record.offset,
                "error": error,
            },
        )

    async def _record_lag(self) -> None:
        consumer = self.consumer
        for tp in consumer.assignment():
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue
            with contextlib.suppress(KafkaError, AssertionError, TimeoutError):
                position = await asyncio.wait_for(consumer.position(tp), 1)
                self.stats.lag[f"{tp.topic}:{tp.partition}"] = max(0, highwater - position)


def _header(record: ConsumerRecord[bytes, bytes], name: str) -> str | None:
    for key, value in record.headers or []:
        if key == name:
            return bytes(value).decode(errors="replace")
    return None


def _peek_type(raw: bytes | None) -> str | None:
    try:
        data = orjson.loads(raw or b"")
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    event_type = data.get("type")
    return str(event_type) if event_type is not None else None
