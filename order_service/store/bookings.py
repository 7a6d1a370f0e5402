"""What a mall's fleet is already promised: its open orders per delivery window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select

from order_service.store.tables import orders
from shared.db import Tx


@dataclass(frozen=True)
class BookedWindow:
    # The window's opening; for an order placed for "as soon as possible", its placing.
    starts_at: datetime
    ends_at: datetime
    orders: int
    is_asap: bool


# Orders that no longer need a driver to the door: what a mall's capacity is not held for.
CLOSED_STATUSES = ("delivered", "cancelled", "returned_to_store", "delivery_failed", "returning")


async def open_windows(tx: Tx, mall_id: str) -> list[BookedWindow]:
    """The mall's orders still to be taken to the door, counted per delivery window; late ones
    too (they still need a driver)."""
    starts = func.coalesce(orders.c.window_starts_at, orders.c.created_at)
    is_asap = orders.c.window_starts_at.is_(None)
    rows = await tx.execute(
        select(
            starts.label("starts_at"),
            orders.c.deliver_by,
            is_asap.label("is_asap"),
            func.count().label("orders"),
        )
        .where(and_(orders.c.mall_id == mall_id, orders.c.status.not_in(CLOSED_STATUSES)))
        .group_by(starts, orders.c.deliver_by, is_asap)
    )
    return [BookedWindow(r.starts_at, r.deliver_by, int(r.orders), r.is_asap) for r in rows]
