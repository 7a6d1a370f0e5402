"""Watches every `<topic>.dlq` of the suite and records each dead letter for the console.

A message lands there when a consumer of any service gave up on it; the operators see them in
the exceptions list. A row is written before the offset is committed, and a message read twice
is recorded once (keyed by topic, partition and offset).
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from dispatch_service.store import console
from shared import clock
from shared.db import Db
from shared.events import topics
from shared.kafka import KafkaTarget, new_consumer
from shared.loop import BackgroundLoop

log = logging.getLogger(__name__)


def _header(record: ConsumerRecord[bytes, bytes], name: str) -> str | None:
    for key, value in record.headers or []:
        if key == name:
            return bytes(value).decode(errors="replace")
    return None


def _payload_facts(raw: bytes | None) -> tuple[str | None, str | None]:
    """(event type, mall id) of a dead letter, when it is an event envelope at all."""
    try:
        data: Any = orjson.loads(raw or b"")
    except orjson.JSONDecodeError:
        return None, None
    if not isinstance(data, dict):
        return None, None
    payload = data.get("payload")
    mall_id = payload.get("mall_id") if isinstance(payload, dict) else None
    event_type = data.get("type")
    return (
        str(event_type) if event_type is not None else None,
        str(mall_id) if mall_id is not None else None,
    )


class DeadLetterWatcher:
    def __init__(self, db: Db, kafka: KafkaTarget, *, group_id: str, topic_suffix: str) -> None:
        self.db = db
        self.kafka = kafka
        self.group_id = group_id
        self.topics = [
            topics.dead_letter(topics.resolve(t, topic_suffix)) for t in topics.PARTITIONS
        ]
        self._consumer: AIOKafkaConsumer | None = None
        # Each step waits up to a second for messages: the next one starts at once; after a
        # failure the loop rests a real second (Kafka's pace, not the suite's clock).
        self._loop = BackgroundLoop(
            "dispatch-dead-letters",
            self.record_next,
            1.0,
            again_at_once=lambda _: True,
            on_suite_clock=False,
        )

    async def start(self) -> None:
        # The cluster's TLS and SASL settings too (KAFKA_*), as every consumer of the suite.
        self._consumer = new_consumer(
            self.kafka,
            *self.topics,
            group_id=self.group_id,
            client_id=f"{self.group_id}-consumer",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        await self._consumer.start()
        await self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()
        if self._consumer is not None:
            with contextlib.suppress(Exception):
                await self._consumer.stop()
            self._consumer = None

    async def record_next(self) -> None:
        assert self._consumer is not None
        batches = await self._consumer.getmany(timeout_ms=1000)
        for tp, records in batches.items():
            await self._record(tp, records)

    async def _record(
        self, tp: TopicPartition, records: list[ConsumerRecord[bytes, bytes]]
    ) -> None:
        assert self._consumer is not None
        async with self.db.begin() as tx:
            for record in records:
                event_type, mall_id = _payload_facts(record.value)
                is_new = await console.add_dead_letter(
                    tx,
                    topic=record.topic,
                    partition=record.partition,
                    offset=record.offset,
                    original_topic=_header(record, "dlq_original_topic")
                    or record.topic.removesuffix(topics.DLQ_SUFFIX),
                    event_type=_header(record, "event_type") or event_type,
                    mall_id=mall_id,
                    consumer=_header(record, "dlq_consumer"),
                    error=_header(record, "dlq_error") or "no reason given",
                    now=clock.now(),
                )
                if is_new:
                    log.warning(
                        "dead_letter_seen",
                        extra={"topic": record.topic, "offset": record.offset, "mall_id": mall_id},
                    )
        await self._consumer.commit({tp: records[-1].offset + 1})
