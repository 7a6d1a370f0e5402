"""Async engine and transactions. Code works on SQLAlchemy Core connections (`Tx`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

Tx = AsyncConnection


class Db:
    def __init__(
        self,
        url: str,
        pool_size: int = 10,
        *,
        pre_ping: bool = True,
        recycle_seconds: float = 1800.0,
        pool_timeout_seconds: float = 30.0,
        lock_timeout_seconds: float | None = None,
    ) -> None:
        """`pre_ping` costs a round trip per checkout from the pool: a hot service turns it off
        and relies on `recycle_seconds` (and on SQLAlchemy dropping the whole pool at the first
        broken connection). Past `pool_timeout_seconds` waiting for a connection, or
        `lock_timeout_seconds` waiting for a row or advisory lock, a statement fails instead of
        waiting on: an API answers 503 (`shared.problems`), a consumer retries."""
        self.url = url
        server_settings = (
            {"lock_timeout": str(round(lock_timeout_seconds * 1000))}
            if lock_timeout_seconds
            else {}
        )
        self.engine: AsyncEngine = create_async_engine(
            url,
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=pre_ping,
            pool_recycle=recycle_seconds,
            pool_timeout=pool_timeout_seconds,
            connect_args={"server_settings": server_settings} if server_settings else {},
        )

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[Tx]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        async with self.engine.begin() as tx:
            yield tx

    async def reachable(self) -> str | None:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as error:  # any failure is a reason to report, not to crash /readyz
            return f"database unreachable: {type(error).__name__}"
        return None

    async def dispose(self) -> None:
        await self.engine.dispose()


def asyncpg_dsn(url: str) -> str:
    """The plain DSN asyncpg wants (LISTEN needs a raw connection)."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)
