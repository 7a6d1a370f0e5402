"""The outgoing webhook queue, stores' POS and the storefront alike: what is due, claimed under a
lease, and each attempt recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import and_, exists, select, update
from sqlalchemy.orm import aliased

from order_service.store.tables import webhook_attempts, webhook_deliveries
from shared.db import Tx


class RecipientKind(StrEnum):
    STORE = "store"
    ENDPOINT = "endpoint"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True)
class Recipient:
    kind: RecipientKind
    id: str

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.id}"


async def enqueue(
    tx: Tx,
    *,
    delivery_id: UUID,
    recipient: Recipient,
    order_key: str | None,
    event_type: str,
    body: bytes,
    now: datetime,
    retry_until: datetime,
) -> None:
    await tx.execute(
        webhook_deliveries.insert().values(
            id=delivery_id,
            recipient_kind=recipient.kind.value,
            recipient_id=recipient.id,
            order_key=order_key,
            event_type=event_type,
            body=body,
            status=DeliveryStatus.PENDING.value,
            next_attempt_at=now,
            retry_until=retry_until,
            created_at=now,
        )
    )


def _is_due(now: datetime) -> Any:
    """Pending, due, and first in its line: no earlier delivery of the same order to the same
    recipient is still pending (that one is retried first, so order is kept)."""
    d, earlier = webhook_deliveries, aliased(webhook_deliveries)
    return and_(
        d.c.status == DeliveryStatus.PENDING.value,
        d.c.next_attempt_at <= now,
        ~exists().where(
            and_(
                earlier.c.status == DeliveryStatus.PENDING.value,
                earlier.c.recipient_kind == d.c.recipient_kind,
                earlier.c.recipient_id == d.c.recipient_id,
                earlier.c.order_key == d.c.order_key,
                earlier.c.seq < d.c.seq,
            )
        ),
    )


async def due_recipients(tx: Tx, now: datetime, limit: int) -> list[Recipient]:
    d = webhook_deliveries
    rows = await tx.execute(
        select(d.c.recipient_kind, d.c.recipient_id).where(_is_due(now)).distinct().limit(limit)
    )
    return [Recipient(RecipientKind(r.recipient_kind), r.recipient_id) for r in rows]


@dataclass(frozen=True)
class DueDelivery:
    id: UUID
    recipient: Recipient
    event_type: str
    body: bytes
    attempts: int
    created_at: datetime
    retry_until: datetime | None


async def claim_due(
    tx: Tx,
    now: datetime,
    limit: int,
    lease_until: datetime,
    recipient: Recipient | None = None,
) -> list[DueDelivery]:
    """Due deliveries that are first in their line (of one recipient, or of any), pushed to
    `lease_until` so that no other sender takes them, nor the next of their line, while this
    one posts them outside any transaction."""
    d = webhook_deliveries
    query = select(d).where(_is_due(now))
    if recipient is not None:
        query = query.where(
            and_(d.c.recipient_kind == recipient.kind.value, d.c.recipient_id == recipient.id)
        )
    rows = (
        await tx.execute(query.order_by(d.c.seq).limit(limit).with_for_update(skip_locked=True))
    ).all()
    if rows:
        await tx.execute(
            update(d).where(d.c.id.in_([r.id for r in rows])).values(next_attempt_at=lease_until)
        )
    return [
        DueDelivery(
            r.id,
            Recipient(RecipientKind(r.recipient_kind), r.recipient_id),
            r.event_type,
            bytes(r.body),
            r.attempts,
            r.created_at,
            r.retry_until,
        )
        for r in rows
    ]


async def record_attempt(
    tx: Tx,
    delivery_id: UUID,
    *,
    at: datetime,
    status_code: int | None,
    error: str | None,
    duration_ms: int | None,
    new_status: DeliveryStatus,
    attempts: int,
    next_attempt_at: datetime,
) -> None:
    await tx.execute(
        webhook_attempts.insert().values(
            delivery_id=delivery_id,
            at=at,
            status_code=status_code,
            error=error,
            duration_ms=duration_ms,
        )
    )
    await tx.execute(
        update(webhook_deliveries)
        .where(webhook_deliveries.c.id == delivery_id)
        .values(
            status=new_status.value,
            attempts=attempts,
            next_attempt_at=next_attempt_at,
            delivered_at=at if new_status is DeliveryStatus.DELIVERED else None,
            failed_at=at if new_status is DeliveryStatus.FAILED else None,
            last_status_code=status_code,
            last_error=error,
        )
    )
