"""What the storefront sees of its deliveries and their attempts; sending failed ones again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import and_, select, update

from order_service.store.tables import webhook_attempts, webhook_deliveries
from order_service.store.webhooks.queue import DeliveryStatus, Recipient, RecipientKind
from shared.db import Tx


@dataclass(frozen=True)
class DeliveryRow:
    id: UUID
    endpoint_id: UUID
    order_id: str | None
    event_type: str
    status: DeliveryStatus
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    failed_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    body: bytes


def _delivery_of(r: Any) -> DeliveryRow:
    status = DeliveryStatus(r.status)
    return DeliveryRow(
        id=r.id,
        endpoint_id=UUID(r.recipient_id),
        order_id=r.order_key,
        event_type=r.event_type,
        status=status,
        attempts=r.attempts,
        created_at=r.created_at,
        next_attempt_at=r.next_attempt_at if status is DeliveryStatus.PENDING else None,
        delivered_at=r.delivered_at,
        failed_at=r.failed_at,
        last_status_code=r.last_status_code,
        last_error=r.last_error,
        body=bytes(r.body),
    )


async def endpoint_deliveries(
    tx: Tx,
    *,
    status: DeliveryStatus | None,
    endpoint_id: UUID | None,
    limit: int,
) -> list[DeliveryRow]:
    """The storefront's deliveries, newest first."""
    d = webhook_deliveries
    query = select(d).where(d.c.recipient_kind == RecipientKind.ENDPOINT.value)
    if status is not None:
        query = query.where(d.c.status == status.value)
    if endpoint_id is not None:
        query = query.where(d.c.recipient_id == str(endpoint_id))
    rows = await tx.execute(query.order_by(d.c.seq.desc()).limit(limit))
    return [_delivery_of(r) for r in rows]


async def endpoint_delivery(
    tx: Tx, delivery_id: UUID, *, for_update: bool = False
) -> DeliveryRow | None:
    d = webhook_deliveries
    query = select(d).where(
        and_(d.c.id == delivery_id, d.c.recipient_kind == RecipientKind.ENDPOINT.value)
    )
    if for_update:
        query = query.with_for_update()
    row = (await tx.execute(query)).first()
    return None if row is None else _delivery_of(row)


@dataclass(frozen=True)
class AttemptRow:
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int | None


async def attempts_of(tx: Tx, delivery_id: UUID) -> list[AttemptRow]:
    rows = await tx.execute(
        select(webhook_attempts)
        .where(webhook_attempts.c.delivery_id == delivery_id)
        .order_by(webhook_attempts.c.id)
    )
    return [AttemptRow(r.at, r.status_code, r.error, r.duration_ms) for r in rows]


async def requeue(tx: Tx, delivery_ids: list[UUID], now: datetime, retry_until: datetime) -> int:
    """Failed deliveries go back in line: they keep their place (seq) and webhook-id, so an
    order's later deliveries wait for them again."""
    d = webhook_deliveries
    result = await tx.execute(
        update(d)
        .where(and_(d.c.id.in_(delivery_ids), d.c.status == DeliveryStatus.FAILED.value))
        .values(
            status=DeliveryStatus.PENDING.value,
            next_attempt_at=now,
            retry_until=retry_until,
            failed_at=None,
        )
        .returning(d.c.id)
    )
    return len(result.all())


async def failed_of_endpoint(tx: Tx, endpoint_id: UUID) -> list[UUID]:
    d = webhook_deliveries
    rows = await tx.execute(
        select(d.c.id).where(
            and_(
                d.c.recipient_kind == RecipientKind.ENDPOINT.value,
                d.c.recipient_id == str(endpoint_id),
                d.c.status == DeliveryStatus.FAILED.value,
            )
        )
    )
    return [UUID(str(r)) for r in rows.scalars()]


async def fail_pending_of(tx: Tx, recipient: Recipient, now: datetime, reason: str) -> int:
    d = webhook_deliveries
    result = await tx.execute(
        update(d)
        .where(
            and_(
                d.c.recipient_kind == recipient.kind.value,
                d.c.recipient_id == recipient.id,
                d.c.status == DeliveryStatus.PENDING.value,
            )
        )
        .values(status=DeliveryStatus.FAILED.value, failed_at=now, last_error=reason)
        .returning(d.c.id)
    )
    return len(result.all())
