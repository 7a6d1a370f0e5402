"""Wrong delivery PINs entered at a stop."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import func, insert, select

from driver_service.store.tables import wrong_pins
from shared.db import Tx


async def add_wrong_pin(
    tx: Tx, *, stop_id: UUID, route_id: UUID, driver_id: UUID, at: datetime
) -> int:
    """Records one wrong try; returns how many the stop has now."""
    await tx.execute(
        insert(wrong_pins).values(stop_id=stop_id, route_id=route_id, driver_id=driver_id, at=at)
    )
    return await wrong_pins_at(tx, stop_id)


async def wrong_pins_at(tx: Tx, stop_id: UUID) -> int:
    query = select(func.count()).select_from(wrong_pins).where(wrong_pins.c.stop_id == stop_id)
    return int((await tx.execute(query)).scalar_one())
