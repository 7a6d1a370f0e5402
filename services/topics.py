"""Creates the suite's topics with explicit partition counts (idempotent), and drops a private
run's topics when it ends."""

from __future__ import annotations

import asyncio
import contextlib

from aiokafka.admin import AIOKafkaAdminClient

from shared.events import topics
from shared.kafka import KafkaConfig, ensure_topics
from shared.settings import KafkaSettings


def create_topics(
    bootstrap_servers: str, suffix: str = "", *, from_environment: bool = True
) -> None:
    """With `from_environment`, the KAFKA_* variables say how to reach the cluster (TLS, SASL)
    and how to replicate the topics, as the services read them; else plaintext, one replica."""
    config = (
        KafkaSettings(KAFKA_BOOTSTRAP_SERVERS=bootstrap_servers).kafka()
        if from_environment
        else KafkaConfig(bootstrap_servers)
    )
    asyncio.run(ensure_topics(config, suffix))


async def delete_topics(bootstrap_servers: str, suffix: str) -> None:
    """Drops the topics of a run with its own suffix (demo, chaos, fuzz, a test suite). Best
    effort: topics already gone, or a broker that no longer answers, leave nothing to do."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        with contextlib.suppress(Exception):
            await admin.delete_topics(list(topics.all_topics(suffix)))
    finally:
        await admin.close()
