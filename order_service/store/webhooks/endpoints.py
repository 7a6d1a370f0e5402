"""The storefront's webhook endpoints with their signing secrets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import and_, func, or_, select, update

from order_service.store.tables import webhook_endpoint_secrets, webhook_endpoints
from shared.db import Tx


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
