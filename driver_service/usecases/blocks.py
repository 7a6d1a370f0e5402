"""Scheduled blocks: the hours a driver says they will drive."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.engine import Row

from driver_service.domain.errors import BlockOverlaps, InvalidBlock
from driver_service.store import drivers as driver_store
from shared.db import Tx
from shared.malls import pilot_malls

MAX_BLOCK_HOURS = 8
MAX_DAYS_AHEAD = 30


async def schedule_block(
    tx: Tx, driver_id: UUID, *, mall_id: str, starts_at: datetime, hours: float, now: datetime
) -> UUID:
    errors: list[tuple[str, str]] = []
    if mall_id not in {m.id for m in pilot_malls()}:
        errors.append(("mall_id", "not a mall we serve"))
    if starts_at <= now:
        errors.append(("starts_at", "must be in the future"))
    elif starts_at > now + timedelta(days=MAX_DAYS_AHEAD):
        errors.append(("starts_at", f"must be within {MAX_DAYS_AHEAD} days"))
    if not 1 <= hours <= MAX_BLOCK_HOURS:
        errors.append(("hours", f"must be between 1 and {MAX_BLOCK_HOURS}"))
    if errors:
        raise InvalidBlock(errors)
    ends_at = starts_at + timedelta(hours=hours)
    if await driver_store.overlapping_block(tx, driver_id, starts_at, ends_at):
        raise BlockOverlaps()
    block_id = uuid.uuid4()
    await driver_store.add_block(
        tx,
        {
            "id": block_id,
            "driver_id": driver_id,
            "mall_id": mall_id,
            "starts_at": starts_at,
            "ends_at": ends_at,
        },
    )
    return block_id


async def blocks_of(tx: Tx, driver_id: UUID) -> list[Row[Any]]:
    return await driver_store.list_blocks(tx, driver_id)


async def cancel_block(tx: Tx, driver_id: UUID, block_id: UUID) -> bool:
    return await driver_store.delete_block(tx, driver_id, block_id)
