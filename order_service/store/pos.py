"""POS credentials (API keys, webhook URL and secrets) and inbound webhook ids."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert

from order_service.store.tables import pos_credentials, retailer_webhook_ids
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
