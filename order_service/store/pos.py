"""POS credentials, inbound webhook ids, and outgoing webhook deliveries with their attempts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert

from order_service.store.tables import (
    pos_credentials,
    retailer_webhook_ids,
    webhook_attempts,
    webhook_deliveries,
)
from shared.db import Tx


def _active(now: datetime) -> object:
    return or_(pos_credentials.c.expires_at.is_(None), pos_credentials.c.expires_at > now)


async def add_credentials(
    tx: Tx,
    *,
    credential_id: UUID,
    store_id: str,
    api_key_sha256: str,
    webhook_secret: str,
    webhook_url: str | None,
    now: datetime,
    previous_expire_at: datetime,
) -> None:
    current_url = await webhook_url_of(tx, store_id, now)
    await tx.execute(
        update(pos_credentials)
        .where(and_(pos_credentials.c.store_id == store_id, _active(now)))  # type: ignore[arg-type]
        .values(expires_at=previous_expire_at)
    )
    await tx.execute(
        pos_credentials.insert().values(
            id=credential_id,
            store_id=store_id,
            api_key_sha256=api_key_sha256,
            webhook_secret=webhook_secret,
            webhook_url=webhook_url or current_url,
            created_at=now,
        )
    )


async def store_of_api_key(tx: Tx, api_key_sha256: str, now: datetime) -> str | None:
    row = (
        await tx.execute(
            select(pos_credentials.c.store_id).where(
                and_(pos_credentials.c.api_key_sha256 == api_key_sha256, _active(now))  # type: ignore[arg-type]
            )
        )
    ).first()
    return None if row is None else str(row[0])


async def webhook_secrets(tx: Tx, store_id: str, now: datetime) -> list[str]:
    """The store's active secrets, newest first (two of them during a rotation)."""
    rows = await tx.execute(
        select(pos_credentials.c.webhook_secret)
        .where(and_(pos_credentials.c.store_id == store_id, _active(now)))  # type: ignore[arg-type]
        .order_by(pos_credentials.c.created_at.desc())
    )
    return [str(r) for r in rows.scalars()]


async def webhook_url_of(tx: Tx, store_id: str, now: datetime) -> str | None:
    row = (
        await tx.execute(
            select(pos_credentials.c.webhook_url)
            .where(and_(pos_credentials.c.store_id == store_id, _active(now)))  # type: ignore[arg-type]
            .order_by(pos_credentials.c.created_at.desc())
            .limit(1)
        )
    ).first()
    return None if row is None or row[0] is None else str(row[0])


async def remember_webhook_id(tx: Tx, store_id: str, webhook_id: str, now: datetime) -> bool:
    """False when this store already sent this webhook id: a replay."""
    result = await tx.execute(
        insert(retailer_webhook_ids)
        .values(store_id=store_id, webhook_id=webhook_id, received_at=now)
        .on_conflict_do_nothing()
        .returning(retailer_webhook_ids.c.webhook_id)
    )
    return result.first() is not None


async def enqueue_delivery(
    tx: Tx, delivery_id: UUID, store_id: str, event_type: str, body: bytes, now: datetime
) -> None:
    await tx.execute(
        webhook_deliveries.insert().values(
            id=delivery_id,
            store_id=store_id,
            event_type=event_type,
            body=body,
            status="pending",
            next_attempt_at=now,
            created_at=now,
        )
    )


@dataclass(frozen=True)
class DueDelivery:
    id: UUID
    store_id: str
    event_type: str
    body: bytes
    attempts: int
    created_at: datetime


async def claim_due(tx: Tx, now: datetime, limit: int, lease_until: datetime) -> list[DueDelivery]:
    """Due deliveries, pushed to `lease_until` so no other sender takes them while this one
    posts them outside any transaction."""
    rows = (
        await tx.execute(
            select(webhook_deliveries)
            .where(
                and_(
                    webhook_deliveries.c.status == "pending",
                    webhook_deliveries.c.next_attempt_at <= now,
                )
            )
            .order_by(webhook_deliveries.c.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    if rows:
        await tx.execute(
            update(webhook_deliveries)
            .where(webhook_deliveries.c.id.in_([r.id for r in rows]))
            .values(next_attempt_at=lease_until)
        )
    return [
        DueDelivery(r.id, r.store_id, r.event_type, bytes(r.body), r.attempts, r.created_at)
        for r in rows
    ]


async def record_attempt(
    tx: Tx,
    delivery_id: UUID,
    *,
    at: datetime,
    status_code: int | None,
    error: str | None,
    new_status: str,
    attempts: int,
    next_attempt_at: datetime,
) -> None:
    await tx.execute(
        webhook_attempts.insert().values(
            delivery_id=delivery_id, at=at, status_code=status_code, error=error
        )
    )
    await tx.execute(
        update(webhook_deliveries)
        .where(webhook_deliveries.c.id == delivery_id)
        .values(
            status=new_status,
            attempts=attempts,
            next_attempt_at=next_attempt_at,
            delivered_at=at if new_status == "delivered" else None,
        )
    )
