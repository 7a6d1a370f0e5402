"""Creates the suite's topics with explicit partition counts (idempotent)."""

from __future__ import annotations

import asyncio

from shared.kafka import ensure_topics


def create_topics(bootstrap_servers: str, suffix: str = "") -> None:
    asyncio.run(ensure_topics(bootstrap_servers, suffix))
