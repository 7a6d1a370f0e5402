"""Kafka clients built one way for the whole suite."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from shared.events import topics

log = logging.getLogger(__name__)


def new_producer(bootstrap_servers: str, client_id: str) -> AIOKafkaProducer:
    # Idempotent with acks=all: a retried send never duplicates or reorders within a partition.
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        client_id=client_id,
        enable_idempotence=True,
        acks="all",
        linger_ms=2,
        request_timeout_ms=10_000,
    )


async def ensure_topics(bootstrap_servers: str, suffix: str = "") -> list[str]:
    """Creates every suite topic that is missing; returns the names it created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=15_000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = topics.all_topics(suffix)
        missing = [
            NewTopic(name=name, num_partitions=partitions, replication_factor=1)
            for name, partitions in wanted.items()
            if name not in existing
        ]
        if missing:
            # Another process may create them first: that is the outcome we wanted.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
        await _wait_for_leaders(admin, list(wanted))
        return [topic.name for topic in missing]
    finally:
        await admin.close()


async def _wait_for_leaders(admin: AIOKafkaAdminClient, names: list[str]) -> None:
    # A producer sending before the partition has a leader waits out its metadata timeout.
    for _ in range(100):
        described = await admin.describe_topics(names)
        if all(
            topic.get("error_code", 0) == 0
            and topic.get("partitions")
            and all(p.get("leader", -1) >= 0 for p in topic["partitions"])
            for topic in described
        ):
            return
        await asyncio.sleep(0.1)


async def kafka_reachable(bootstrap_servers: str, timeout: float = 3.0) -> str | None:
    """None when the broker answers, else the reason it did not."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=3_000)
    try:
        await asyncio.wait_for(admin.start(), timeout)
        await asyncio.wait_for(admin.list_topics(), timeout)
    except (TimeoutError, KafkaError, OSError) as error:
        return f"Kafka at {bootstrap_servers} unreachable: {type(error).__name__} {error}".strip()
    finally:
        await admin.close()
    return None
