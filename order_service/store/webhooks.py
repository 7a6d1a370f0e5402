"""The outgoing webhook queue (stores' POS and the storefront alike), its attempts, and the
storefront's endpoints with their signing secrets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.orm import aliased

from order_service.store.tables import (
    webhook_attempts,
    webhook_deliveries,
    webhook_endpoint_secrets,
    webhook_endpoints,
)
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


# --- the queue -------------------------------------------------------------------------------


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


# --- what the storefront sees of its deliveries ----------------------------------------------


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


# --- the storefront's endpoints --------------------------------------------------------------


@dataclass(frozen=True)
class EndpointRow:
    id: UUID
    url: str
    event_types: list[str] | None
    description: str
    is_enabled: bool
    created_at: datetime


def _endpoint_of(r: Any) -> EndpointRow:
    return EndpointRow(
        r.id,
        r.url,
        None if r.event_types is None else [str(t) for t in r.event_types],
        r.description,
        r.is_enabled,
        r.created_at,
    )


async def add_endpoint(
    tx: Tx,
    *,
    endpoint_id: UUID,
    url: str,
    event_types: list[str] | None,
    description: str,
    secret: str,
    now: datetime,
) -> None:
    await tx.execute(
        webhook_endpoints.insert().values(
            id=endpoint_id,
            url=url,
            event_types=event_types,
            description=description,
            created_at=now,
        )
    )
    await tx.execute(
        webhook_endpoint_secrets.insert().values(
            endpoint_id=endpoint_id, secret=secret, created_at=now
        )
    )


async def endpoints(tx: Tx) -> list[EndpointRow]:
    rows = await tx.execute(
        select(webhook_endpoints)
        .where(webhook_endpoints.c.is_enabled)
        .order_by(webhook_endpoints.c.created_at)
    )
    return [_endpoint_of(r) for r in rows]


async def endpoint(tx: Tx, endpoint_id: UUID, *, for_update: bool = False) -> EndpointRow | None:
    query = select(webhook_endpoints).where(
        and_(webhook_endpoints.c.id == endpoint_id, webhook_endpoints.c.is_enabled)
    )
    if for_update:
        query = query.with_for_update()
    row = (await tx.execute(query)).first()
    return None if row is None else _endpoint_of(row)


async def disable_endpoint(tx: Tx, endpoint_id: UUID, now: datetime) -> None:
    await tx.execute(
        update(webhook_endpoints)
        .where(webhook_endpoints.c.id == endpoint_id)
        .values(is_enabled=False, disabled_at=now)
    )


def _live_secret(now: datetime) -> Any:
    s = webhook_endpoint_secrets
    return or_(s.c.expires_at.is_(None), s.c.expires_at > now)


async def rotate_secret(
    tx: Tx, endpoint_id: UUID, secret: str, now: datetime, previous_expire_at: datetime
) -> None:
    """The new secret signs from now on; the live ones keep signing beside it until
    `previous_expire_at`, so receivers can switch without missing a delivery."""
    s = webhook_endpoint_secrets
    await tx.execute(
        update(s)
        .where(and_(s.c.endpoint_id == endpoint_id, _live_secret(now)))
        .values(
            expires_at=func.least(
                func.coalesce(s.c.expires_at, previous_expire_at), previous_expire_at
            )
        )
    )
    await tx.execute(s.insert().values(endpoint_id=endpoint_id, secret=secret, created_at=now))


async def endpoint_target(tx: Tx, endpoint_id: UUID, now: datetime) -> tuple[str, list[str]] | None:
    """(url, live secrets newest first) of an enabled endpoint."""
    found = await endpoint(tx, endpoint_id)
    if found is None:
        return None
    s = webhook_endpoint_secrets
    rows = await tx.execute(
        select(s.c.secret)
        .where(and_(s.c.endpoint_id == endpoint_id, _live_secret(now)))
        .order_by(s.c.id.desc())
    )
    return found.url, [str(secret) for secret in rows.scalars()]


async def subscribed_endpoints(tx: Tx, event_type: str) -> list[UUID]:
    return [
        e.id for e in await endpoints(tx) if e.event_types is None or event_type in e.event_types
    ]
