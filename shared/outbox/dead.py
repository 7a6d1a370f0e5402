"""Parked rows: events Kafka refused for good, for an operator to retry or discard."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text

from shared.db import Db
from shared.outbox.writer import NOTIFY_CHANNEL


async def dead_count(db: Db) -> int:
    async with db.begin() as tx:
        return int((await tx.execute(text("SELECT count(*) FROM outbox_dead"))).scalar_one())


@dataclass(frozen=True)
class DeadRow:
    id: int
    event_id: str
    topic: str
    key: str
    event_type: str
    error: str
    created_at: datetime
    parked_at: datetime
    event: bytes


async def dead_rows(db: Db) -> list[DeadRow]:
    async with db.begin() as tx:
        rows = await tx.execute(
            text(
                "SELECT id, event_id, topic, key, event_type, error, created_at, parked_at, event"
                " FROM outbox_dead ORDER BY id"
            )
        )
        return [
            DeadRow(
                id=row.id,
                event_id=str(row.event_id),
                topic=row.topic,
                key=row.key,
                event_type=row.event_type,
                error=row.error,
                created_at=row.created_at,
                parked_at=row.parked_at,
                event=bytes(row.event),
            )
            for row in rows
        ]


async def requeue_dead(db: Db, row_id: int) -> bool:
    """Puts a parked row back in the outbox with its own id: it goes out before the rows of
    its key that waited behind it. False if there is no such parked row."""
    async with db.begin() as tx:
        moved = await tx.execute(
            text(
                "WITH moved AS (DELETE FROM outbox_dead WHERE id = :id"
                " RETURNING id, event_id, topic, key, event_type, event, created_at)"
                " INSERT INTO outbox (id, event_id, topic, key, event_type, event, created_at)"
                " SELECT id, event_id, topic, key, event_type, event, created_at FROM moved"
                " RETURNING id"
            ),
            {"id": row_id},
        )
        if moved.first() is None:
            return False
        await tx.execute(text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})
    return True


async def discard_dead(db: Db, row_id: int) -> bool:
    """Drops a parked row for good, unblocking its key. False if there is no such row."""
    async with db.begin() as tx:
        deleted = await tx.execute(
            text("DELETE FROM outbox_dead WHERE id = :id RETURNING id"), {"id": row_id}
        )
        found = deleted.first() is not None
        if found:
            await tx.execute(text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})
        return found
