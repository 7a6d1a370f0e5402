"""Queries on drivers, their refresh tokens and scheduled blocks."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Row

from driver_service.store.tables import blocks, drivers, refresh_tokens
from shared.db import Tx


async def add_driver(tx: Tx, values: dict[str, Any]) -> bool:
    """False when the phone number is already registered."""
    result = await tx.execute(
        pg_insert(drivers)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[drivers.c.phone])
        .returning(drivers.c.id)
    )
    return result.first() is not None


async def get_driver(tx: Tx, driver_id: UUID, *, for_update: bool = False) -> Row[Any] | None:
    query = select(drivers).where(drivers.c.id == driver_id)
    if for_update:
        query = query.with_for_update()
    return (await tx.execute(query)).first()


async def set_online(tx: Tx, driver_id: UUID, online: bool) -> None:
    await tx.execute(update(drivers).where(drivers.c.id == driver_id).values(is_online=online))


async def set_location(tx: Tx, driver_id: UUID, lat: float, lng: float, at: datetime) -> None:
    await tx.execute(
        update(drivers).where(drivers.c.id == driver_id).values(lat=lat, lng=lng, location_at=at)
    )


async def add_refresh_token(tx: Tx, jti: UUID, driver_id: UUID, expires_at: datetime) -> None:
    await tx.execute(
        insert(refresh_tokens).values(jti=jti, driver_id=driver_id, expires_at=expires_at)
    )


async def use_refresh_token(tx: Tx, jti: UUID, driver_id: UUID, now: datetime) -> bool:
    """Marks a refresh token used; False if unknown or already used (rotation)."""
    result = await tx.execute(
        update(refresh_tokens)
        .where(
            refresh_tokens.c.jti == jti,
            refresh_tokens.c.driver_id == driver_id,
            refresh_tokens.c.used_at.is_(None),
        )
        .values(used_at=now)
        .returning(refresh_tokens.c.jti)
    )
    return result.first() is not None


async def add_block(tx: Tx, values: dict[str, Any]) -> None:
    await tx.execute(insert(blocks).values(**values))


async def overlapping_block(
    tx: Tx, driver_id: UUID, starts_at: datetime, ends_at: datetime
) -> bool:
    result = await tx.execute(
        select(blocks.c.id).where(
            and_(
                blocks.c.driver_id == driver_id,
                blocks.c.starts_at < ends_at,
                blocks.c.ends_at > starts_at,
            )
        )
    )
    return result.first() is not None


async def list_blocks(tx: Tx, driver_id: UUID) -> list[Row[Any]]:
    result = await tx.execute(
        select(blocks).where(blocks.c.driver_id == driver_id).order_by(blocks.c.starts_at)
    )
    return list(result.all())


async def delete_block(tx: Tx, driver_id: UUID, block_id: UUID) -> bool:
    result = await tx.execute(
        delete(blocks)
        .where(blocks.c.id == block_id, blocks.c.driver_id == driver_id)
        .returning(blocks.c.id)
    )
    return result.first() is not None
