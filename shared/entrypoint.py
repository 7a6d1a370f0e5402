"""`python -m <service>`: settings from the environment, a preflight check, then uvicorn."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from shared.db import Db
from shared.kafka import KafkaTarget, kafka_reachable
from shared.settings import S, load_settings


async def _preflight(database_url: str, kafka: KafkaTarget) -> str | None:
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
    return None


def serve(settings_cls: type[S], create_app: Callable[[S], FastAPI]) -> None:
    settings = load_settings(settings_cls)
    problem = asyncio.run(_preflight(settings.database_url, settings.kafka()))
    if problem is not None:
        print(f"{settings.service_name}: {problem}", file=sys.stderr)
        raise SystemExit(3)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=15,
    )
