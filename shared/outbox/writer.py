"""Writing events: rows added in the caller's transaction, in commit order per key."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import text

from shared import tracing
from shared.db import Db, Tx
from shared.events.envelope import Payload, encode, wrap

NOTIFY_CHANNEL = "outbox"
_WRITER_LOCK_CLASS = 1
_producer_name = "unknown"


def set_producer_name(name: str) -> None:
    """The service name stamped on every envelope this process writes."""
    global _producer_name
    _producer_name = name


async def add(tx: Tx, payload: Payload, *, key: str, occurred_at: datetime | None = None) -> None:
    """Adds an event to the outbox inside the caller's transaction."""
    await add_many(tx, [(payload, key)], occurred_at=occurred_at)


async def add_many(
    tx: Tx, events: Sequence[tuple[Payload, str]], *, occurred_at: datetime | None = None
) -> None:
    """Adds (payload, key) events in one round trip each for locks, rows and the wake-up.

    Keys are locked in sorted order so two bulk writers never deadlock on each other.
    """
    if not events:
        return
    for key in sorted({key for _, key in events}):
        await tx.execute(
            text("SELECT pg_advisory_xact_lock(:cls, hashtext(:key))"),
            {"cls": _WRITER_LOCK_CLASS, "key": key},
        )
    rows = []
    trace_context = tracing.current_context()
    for payload, key in events:
        envelope = wrap(
            payload,
            key=key,
            producer=_producer_name,
            occurred_at=occurred_at,
            trace_context=trace_context,
        )
        rows.append(
            {
                "event_id": envelope.event_id,
                "topic": payload.TOPIC,
                "key": key,
                "event_type": payload.TYPE,
                "event": encode(envelope),
            }
        )
    await tx.execute(
        text(
            "INSERT INTO outbox (event_id, topic, key, event_type, event)"
            " VALUES (:event_id, :topic, :key, :event_type, :event)"
        ),
        rows,
    )
    # Delivered at commit, never for a rolled-back transaction; the relay also polls.
    await tx.execute(text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})


async def backlog(db: Db) -> int:
    async with db.begin() as tx:
        result = await tx.execute(text("SELECT count(*) FROM outbox WHERE sent_at IS NULL"))
        return int(result.scalar_one())


async def unsent(db: Db) -> tuple[int, float]:
    """Rows not yet published, and the age in seconds of the oldest of them (0 when none).

    Both by the database's clock, which also stamped `created_at`."""
    async with db.begin() as tx:
        row = (
            await tx.execute(
                text(
                    "SELECT count(*), COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)"
                    " FROM outbox WHERE sent_at IS NULL"
                )
            )
        ).one()
        return int(row[0]), float(row[1])
