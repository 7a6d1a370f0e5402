"""Async engine and transactions. Code works on SQLAlchemy Core connections (`Tx`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

Tx = AsyncConnection


class Db:
    def __init__(self, url: str, pool_size: int = 10) -> None:
        self.url = url
        self.engine: AsyncEngine = create_async_engine(
            url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
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
