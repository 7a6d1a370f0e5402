"""`python -m <service>`: settings from the environment, a preflight check, then uvicorn."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from shared.db import Db
from shared.kafka import KafkaTarget, TopicSetupError, ensure_topics, kafka_reachable
from shared.service import freeze_after_start
from shared.settings import S, load_settings


async def _preflight(database_url: str, kafka: KafkaTarget, topic_suffix: str) -> str | None:
    db = Db(database_url, pool_size=1)
    try:
        reason = await db.reachable()
    finally:
        await db.dispose()
    if reason is not None:
        return f"{reason} ({database_url.split('@')[-1]}): start it with `make infra-up`"
    reason = await kafka_reachable(kafka)
    if reason is not None:
        return f"{reason}: start it with `make infra-up` or set KAFKA_BOOTSTRAP_SERVERS"
    try:
        await ensure_topics(kafka, topic_suffix)
    except TopicSetupError as error:
        return str(error)
    return None


def serve(settings_cls: type[S], create_app: Callable[[S], FastAPI]) -> None:
    settings = load_settings(settings_cls)
    problem = asyncio.run(
        _preflight(settings.database_url, settings.kafka(), settings.topic_suffix)
    )
    if problem is not None:
        print(f"{settings.service_name}: {problem}", file=sys.stderr)
        raise SystemExit(3)
    freeze_after_start()
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=15,
    )
