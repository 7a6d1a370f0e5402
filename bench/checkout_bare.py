"""The checkout benchmark's bare ceiling: FastAPI + asyncpg doing one transaction of one INSERT
and one conditional UPDATE per request."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

import asyncpg
import orjson
from fastapi import FastAPI, Request, Response

from shared.db import asyncpg_dsn
from tests.support import create_database

BARE_SCHEMA = """
DROP TABLE IF EXISTS bare_orders, bare_stock;
CREATE TABLE bare_orders (
  id uuid PRIMARY KEY, idempotency_key text NOT NULL, body bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE bare_stock (offer_id text PRIMARY KEY, quantity bigint NOT NULL);
"""


async def prepare_bare(url: str, offer_ids: list[str]) -> None:
    await create_database(url)
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute(BARE_SCHEMA)
        await conn.executemany(
            "INSERT INTO bare_stock VALUES ($1, $2)", [(o, 1_000_000_000) for o in offer_ids]
        )
    finally:
        await conn.close()


def bare_app(dsn: str, pool_size: int) -> FastAPI:
    pools: list[asyncpg.Pool] = []

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        pools.append(await asyncpg.create_pool(dsn, min_size=pool_size, max_size=pool_size))
        yield
        await pools[0].close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/readyz")
    async def readyz() -> dict[str, str]:
        return {"status": "ready"}

    @app.post("/v1/checkout", status_code=201)
    async def checkout(request: Request) -> Response:
        body = await request.body()
        first = orjson.loads(body)["lines"][0]["offer_id"]
        order_id = uuid.uuid4()
        async with pools[0].acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO bare_orders (id, idempotency_key, body) VALUES ($1, $2, $3)",
                order_id,
                request.headers.get("idempotency-key", ""),
                body,
            )
            updated = await conn.execute(
                "UPDATE bare_stock SET quantity = quantity - 1"
                " WHERE offer_id = $1 AND quantity > 0",
                first,
            )
        status = 201 if updated == "UPDATE 1" else 409
        return Response(orjson.dumps({"id": str(order_id)}), status, media_type="application/json")

    return app
