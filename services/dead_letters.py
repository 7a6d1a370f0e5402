"""Dead letters and parked outbox rows, read and sent again: what `python -m services dlq` works
with (services/dlq.py is the command).
"""

from __future__ import annotations

import fnmatch
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import ConsumerRecord, TopicPartition

from services import infra
from shared import outbox
from shared.db import Db
from shared.events import topics
from shared.kafka import KafkaConfig, new_admin, new_consumer, new_producer

DLQ_HEADER_PREFIX = "dlq_"
SERVICES = {"catalog": "CATALOG", "order": "ORDER", "dispatch": "DISPATCH", "driver": "DRIVER"}


class DlqError(Exception):
    """A bad reference or filter; the message says what to type instead."""


@dataclass(frozen=True)
class DeadLetter:
    """One record of a `<topic>.dlq` topic."""

    topic: str
    partition: int
    offset: int
    at: datetime
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]

    @property
    def ref(self) -> str:
        return f"{self.topic}:{self.partition}:{self.offset}"

    def header(self, name: str) -> str:
        for key, value in self.headers:
            if key == name:
                return bytes(value).decode(errors="replace")
        return ""

    @property
    def original_topic(self) -> str:
        return self.header("dlq_original_topic") or self.topic.removesuffix(topics.DLQ_SUFFIX)

    @property
    def original_headers(self) -> list[tuple[str, bytes]]:
        return [(k, v) for k, v in self.headers if not k.startswith(DLQ_HEADER_PREFIX)]


@dataclass(frozen=True)
class Filters:
    topic: str | None = None
    consumer: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    offsets: tuple[int, int] | None = None

    def admits(self, letter: DeadLetter) -> bool:
        if self.consumer and not fnmatch.fnmatchcase(letter.header("dlq_consumer"), self.consumer):
            return False
        if self.since and letter.at < self.since:
            return False
        if self.until and letter.at > self.until:
            return False
        return not (self.offsets and not self.offsets[0] <= letter.offset <= self.offsets[1])


def dead_letter_topics(suffix: str, topic: str | None) -> list[str]:
    names = [name for name in topics.all_topics(suffix) if name.endswith(topics.DLQ_SUFFIX)]
    if topic is None:
        return names
    wanted = topics.dead_letter(topics.resolve(topic.removesuffix(topics.DLQ_SUFFIX), suffix))
    if wanted not in names:
        known = ", ".join(sorted(topics.PARTITIONS))
        raise DlqError(f"no topic {topic!r} in the suite: use one of {known}")
    return [wanted]


async def read_dead_letters(
    kafka: KafkaConfig, names: Sequence[str], filters: Filters
) -> list[DeadLetter]:
    """Every record of the named dead-letter topics, from the start to the current end."""
    admin = new_admin(kafka)
    await admin.start()
    try:
        described = await admin.describe_topics(list(names))
    finally:
        await admin.close()
    partitions = [
        TopicPartition(topic["topic"], p["partition"])
        for topic in described
        if topic.get("error_code", 0) == 0
        for p in topic["partitions"]
    ]
    if not partitions:
        return []
    consumer = new_consumer(kafka, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        letters: list[DeadLetter] = []
        remaining = {tp for tp in partitions if ends[tp] > 0}
        while remaining:
            batches = await consumer.getmany(*remaining, timeout_ms=2000)
            if not batches:
                break
            for tp, records in batches.items():
                letters += [_letter(r) for r in records if r.offset < ends[tp]]
                if records and records[-1].offset + 1 >= ends[tp]:
                    remaining.discard(tp)
        return [letter for letter in letters if filters.admits(letter)]
    finally:
        await consumer.stop()


def _letter(record: ConsumerRecord[bytes, bytes]) -> DeadLetter:
    return DeadLetter(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        at=datetime.fromtimestamp(record.timestamp / 1000, UTC),
        key=record.key,
        value=record.value,
        headers=[(k, bytes(v)) for k, v in record.headers or []],
    )


async def replay_dead_letters(kafka: KafkaConfig, letters: Sequence[DeadLetter]) -> list[str]:
    """Publishes each to its original topic, original key and headers; returns where each went."""
    producer = new_producer(kafka, client_id="dlq-replay")
    await producer.start()
    try:
        placed = []
        for letter in letters:
            metadata = await producer.send_and_wait(
                letter.original_topic,
                value=letter.value,
                key=letter.key,
                headers=letter.original_headers,
            )
            placed.append(f"{metadata.topic}:{metadata.partition}:{metadata.offset}")
        return placed
    finally:
        await producer.stop()


def database_urls(overrides: Sequence[str]) -> dict[str, str]:
    urls = {name: infra.infra_env()[f"{prefix}_DATABASE_URL"] for name, prefix in SERVICES.items()}
    for item in overrides:
        name, sep, url = item.partition("=")
        if not sep or not url:
            raise DlqError(f"--database wants name=url, got {item!r}")
        urls[name] = url
    return urls


def parse_outbox_ref(ref: str) -> tuple[str, int]:
    parts = ref.split(":")
    if len(parts) != 3 or parts[0] != "outbox" or not parts[2].isdigit():
        raise DlqError(f"{ref!r} is not outbox:<service>:<id> (see `dlq list`)")
    return parts[1], int(parts[2])


def parse_kafka_ref(ref: str) -> tuple[str, int, int]:
    topic, _, rest = ref.partition(":")
    partition, _, offset = rest.partition(":")
    if not topic.endswith(topics.DLQ_SUFFIX) or not partition.isdigit() or not offset.isdigit():
        raise DlqError(f"{ref!r} is not <topic>.dlq:<partition>:<offset> (see `dlq list`)")
    return topic, int(partition), int(offset)


async def parked_rows(urls: dict[str, str], only: str | None) -> list[tuple[str, outbox.DeadRow]]:
    found = []
    for name, url in urls.items():
        if only and name != only:
            continue
        db = Db(url, pool_size=1)
        try:
            found += [(name, row) for row in await outbox.dead_rows(db)]
        except Exception as error:  # one unreachable database must not hide the others
            print(
                f"[dlq] {name}: cannot read outbox_dead ({type(error).__name__});"
                " has the service run (and migrated its database) yet?",
                file=sys.stderr,
            )
        finally:
            await db.dispose()
    return found
