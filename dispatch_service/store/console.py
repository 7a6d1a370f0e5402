"""Queries of the operator console: its read models, the audit log and the dead letters."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import and_, func, or_, select
from sqlalchemy.dialects.postgresql import insert

from dispatch_service.domain.console.exceptions import DeadLetterGroup
from dispatch_service.domain.console.phases import Milestones, StoreInfo
from dispatch_service.store.tables import (
    dead_letters,
    operator_actions,
    shipment_progress,
    stores,
)
from shared.db import Tx
from shared.events.catalog import StoreUpserted
from shared.geo import Point

# Milestones keep the first time they were heard of: a redelivered event changes nothing.
_MILESTONES = (
    "placed_at",
    "accepted_at",
    "ready_at",
    "picked_up_at",
    "delivered_at",
    "failed_at",
    "returned_at",
    "cancelled_at",
)
# Facts a later event may correct (a shipment re-routed to another store, another route).
_LATEST = ("store_id", "deliver_by", "route_id", "driver_id", "failure_reason")


async def upsert_store(tx: Tx, event: StoreUpserted, now: datetime) -> None:
    values: dict[str, Any] = {
        "mall_id": event.mall_id,
        "name": event.name,
        "lat": event.location.lat,
        "lng": event.location.lng,
        "prep_minutes": event.prep_minutes,
        "is_active": event.is_active,
        "updated_at": now,
    }
    statement = insert(stores).values(store_id=event.store_id, **values)
    await tx.execute(statement.on_conflict_do_update(index_elements=["store_id"], set_=values))


async def stores_of(tx: Tx, mall_id: str) -> list[StoreInfo]:
    result = await tx.execute(
        select(stores).where(stores.c.mall_id == mall_id).order_by(stores.c.name)
    )
    return [
        StoreInfo(r.store_id, r.name, Point(r.lat, r.lng), r.prep_minutes, r.is_active)
        for r in result.all()
    ]


async def record_progress(
    tx: Tx, shipment_id: UUID, *, order_id: UUID, mall_id: str, now: datetime, **facts: Any
) -> None:
    """Adds what an event says about a shipment, in whichever order the events come."""
    unknown = set(facts) - set(_MILESTONES) - set(_LATEST)
    if unknown:
        raise ValueError(f"not a shipment fact: {sorted(unknown)}")
    statement = insert(shipment_progress).values(
        shipment_id=shipment_id, order_id=order_id, mall_id=mall_id, updated_at=now, **facts
    )
    update: dict[str, Any] = {"updated_at": now}
    for name, value in facts.items():
        if value is None:
            continue
        column = shipment_progress.c[name]
        update[name] = (
            func.coalesce(column, statement.excluded[name])
            if name in _MILESTONES
            else statement.excluded[name]
        )
    await tx.execute(statement.on_conflict_do_update(index_elements=["shipment_id"], set_=update))


async def progress_of(
    tx: Tx, *, order_id: UUID | None = None, shipment_ids: Collection[UUID] = ()
) -> list[Milestones]:
    condition = (
        shipment_progress.c.shipment_id.in_(list(shipment_ids))
        if shipment_ids
        else shipment_progress.c.order_id == order_id
    )
    result = await tx.execute(select(shipment_progress).where(condition))
    return [_milestones(r) for r in result.all()]


def _milestones(row: Any) -> Milestones:
    return Milestones(
        shipment_id=row.shipment_id,
        order_id=row.order_id,
        store_id=row.store_id,
        deliver_by=row.deliver_by,
        placed_at=row.placed_at,
        accepted_at=row.accepted_at,
        ready_at=row.ready_at,
        picked_up_at=row.picked_up_at,
        delivered_at=row.delivered_at,
        failed_at=row.failed_at,
        failure_reason=row.failure_reason,
        returned_at=row.returned_at,
        cancelled_at=row.cancelled_at,
        route_id=row.route_id,
    )


async def progress_of_mall(tx: Tx, mall_id: str, since: datetime) -> list[Milestones]:
    """The mall's shipments heard of since `since`, and any older one still under way."""
    p = shipment_progress.c
    unfinished = and_(p.delivered_at.is_(None), p.returned_at.is_(None), p.cancelled_at.is_(None))
    result = await tx.execute(
        select(shipment_progress).where(
            p.mall_id == mall_id, or_(p.updated_at >= since, unfinished)
        )
    )
    return [_milestones(r) for r in result.all()]


async def add_action(
    tx: Tx,
    *,
    at: datetime,
    operator: str,
    action: str,
    mall_id: str | None,
    target_id: str | None,
    detail: dict[str, Any],
    outcome: str,
    message: str,
) -> UUID:
    action_id = uuid.uuid4()
    await tx.execute(
        operator_actions.insert().values(
            action_id=action_id,
            at=at,
            operator=operator,
            action=action,
            mall_id=mall_id,
            target_id=target_id,
            detail=detail,
            outcome=outcome,
            message=message,
        )
    )
    return action_id


@dataclass(frozen=True, slots=True)
class ActionRecord:
    action_id: UUID
    at: datetime
    operator: str
    action: str
    mall_id: str | None
    target_id: str | None
    detail: dict[str, Any]
    outcome: str
    message: str


async def actions(tx: Tx, mall_id: str | None, limit: int) -> list[ActionRecord]:
    query = select(operator_actions).order_by(operator_actions.c.at.desc()).limit(limit)
    if mall_id is not None:
        query = query.where(operator_actions.c.mall_id == mall_id)
    result = await tx.execute(query)
    return [
        ActionRecord(
            r.action_id, r.at, r.operator, r.action, r.mall_id, r.target_id, r.detail,
            r.outcome, r.message,
        )
        for r in result.all()
    ]  # fmt: skip


async def add_dead_letter(
    tx: Tx,
    *,
    topic: str,
    partition: int,
    offset: int,
    original_topic: str,
    event_type: str | None,
    mall_id: str | None,
    consumer: str | None,
    error: str,
    now: datetime,
) -> bool:
    """False when this message was recorded already (the watcher read it twice)."""
    result = await tx.execute(
        insert(dead_letters)
        .values(
            topic=topic,
            partition_no=partition,
            message_offset=offset,
            original_topic=original_topic,
            event_type=event_type,
            mall_id=mall_id,
            consumer=consumer,
            error=error,
            received_at=now,
        )
        .on_conflict_do_nothing()
        .returning(dead_letters.c.topic)
    )
    return result.first() is not None


async def dead_letter_groups(tx: Tx, mall_id: str) -> list[DeadLetterGroup]:
    """Per dead-letter topic: the mall's messages and those that name no mall."""
    d = dead_letters.c
    result = await tx.execute(
        select(d.topic, func.count(), func.max(d.received_at))
        .where(or_(d.mall_id == mall_id, d.mall_id.is_(None)))
        .group_by(d.topic)
        .order_by(d.topic)
    )
    groups = [DeadLetterGroup(topic, int(n), last_at, "") for topic, n, last_at in result.all()]
    return [await _with_last_error(tx, group, mall_id) for group in groups]


async def _with_last_error(tx: Tx, group: DeadLetterGroup, mall_id: str) -> DeadLetterGroup:
    d = dead_letters.c
    error = (
        await tx.execute(
            select(d.error)
            .where(d.topic == group.topic, or_(d.mall_id == mall_id, d.mall_id.is_(None)))
            .order_by(d.received_at.desc(), d.message_offset.desc())
            .limit(1)
        )
    ).scalar_one()
    return DeadLetterGroup(group.topic, group.count, group.last_at, error)


async def mall_of_shipment(tx: Tx, shipment_id: UUID) -> str | None:
    result = await tx.execute(
        select(shipment_progress.c.mall_id).where(shipment_progress.c.shipment_id == shipment_id)
    )
    return result.scalar_one_or_none()
