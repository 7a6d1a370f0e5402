"""Creates the suite's topics with explicit partition counts (idempotent)."""

from __future__ import annotations

import asyncio

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
