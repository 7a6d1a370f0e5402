"""Handling one record: its handler and inbox row in one transaction, retried; a record that
cannot be handled goes to the dead-letter topic with the error and its headers."""

from __future__ import annotations

import asyncio
import traceback

import orjson
from aiokafka import AIOKafkaProducer, ConsumerRecord, TopicPartition
from sqlalchemy import text

from shared import tracing
from shared.consumer.base import Handler, Released, label, log
from shared.consumer.retry import RetryPolicy
from shared.events import topics
from shared.events.envelope import Envelope, Payload, decode
from shared.kafka import new_producer
from shared.logging import trace_id_var


class Handling(RetryPolicy):
    async def _process(
        self, tp: TopicPartition, record: ConsumerRecord[bytes, bytes], released: asyncio.Event
    ) -> None:
        event_type = _header(record, "event_type") or _peek_type(record.value)
        if event_type is None:
            await self._dead_letter(tp, record, "not an event envelope: no type", 0, released)
            return
        handler = self.handlers.get(event_type)
        if handler is None:
            return  # another consumer's event on a shared topic
        try:
            envelope = decode(record.value or b"")
        except (ValueError, TypeError) as error:
            await self._dead_letter(tp, record, f"undecodable event: {error}", 0, released)
            return
        if not tracing.enabled():
            # Each partition runs in its own task, so this trace id stays with this record only.
            trace_id_var.set(envelope.trace_id)
            await self._handle_with_retries(tp, record, handler, envelope, released)
            return
        attributes = {
            "messaging.consumer.group.name": self.group_id,
            "messaging.message.id": str(envelope.event_id),
            "messaging.kafka.message.key": envelope.key,
            "messaging.kafka.offset": record.offset,
            "messaging.destination.partition.id": str(record.partition),
        }
        # The CONSUMER span covers the retries and a dead letter too: the handler's queries
        # and whatever became of the record are its children.
        with tracing.consuming(
            record.topic, record.headers or (), attributes, envelope.trace_context
        ):
            trace_id_var.set(tracing.current_trace_id() or envelope.trace_id)
            await self._handle_with_retries(tp, record, handler, envelope, released)

    async def _handle_with_retries(
        self,
        tp: TopicPartition,
        record: ConsumerRecord[bytes, bytes],
        handler: Handler,
        envelope: Envelope[Payload],
        released: asyncio.Event,
    ) -> None:
        attempts = 0
        try:
            async for attempt in self._retrying(tp, released, give_up=True):
                with attempt:
                    attempts += 1
                    async with self._handler_slots:
                        await self._apply(handler, envelope)
        except Released:
            raise
        except Exception as error:
            await self._dead_letter(
                tp,
                record,
                "".join(traceback.format_exception_only(error)).strip(),
                attempts,
                released,
            )
        finally:
            self.stats.retrying.pop(label(tp), None)

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
            if self.effect_log:
                # Committed with the handler's own writes: one row per time it took effect.
                await tx.execute(
                    text(
                        "INSERT INTO consumer_effects (consumer, event_id, event_type)"
                        " VALUES (:consumer, :event_id, :event_type)"
                    ),
                    {
                        "consumer": self.group_id,
                        "event_id": envelope.event_id,
                        "event_type": envelope.type,
                    },
                )
        self.stats.handled += 1

    async def _dead_letter(
        self,
        tp: TopicPartition,
        record: ConsumerRecord[bytes, bytes],
        error: str,
        attempts: int,
        released: asyncio.Event,
    ) -> None:
        headers = [
            *list(record.headers or []),
            ("dlq_error", error.encode()[:4000]),
            ("dlq_consumer", self.group_id.encode()),
            ("dlq_attempts", str(attempts).encode()),
            ("dlq_original_topic", record.topic.encode()),
            ("dlq_original_partition", str(record.partition).encode()),
            ("dlq_original_offset", str(record.offset).encode()),
        ]
        # Until Kafka takes the dead letter the record is neither applied nor parked: keep
        # trying (its partition stays paused), never commit past it.
        async for attempt in self._retrying(tp, released, give_up=False):
            with attempt:
                producer = await self._get_dlq_producer()
                async with asyncio.timeout(self.dead_letter_timeout_seconds):
                    await producer.send_and_wait(
                        topics.dead_letter(record.topic),
                        value=record.value,
                        key=record.key,
                        headers=headers,
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

    async def _get_dlq_producer(self) -> AIOKafkaProducer:
        if self._dlq_producer is None:
            producer = new_producer(self.kafka, f"{self.name}-dlq")
            await producer.start()
            self._dlq_producer = producer
        return self._dlq_producer


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
