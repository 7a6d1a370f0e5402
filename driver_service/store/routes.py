"""Queries on accepted routes, their stops, and proof photos."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Row

from driver_service.store.tables import cancelled_shipments, photos, route_stops, routes
from shared.db import Tx


async def add_route(tx: Tx, values: dict[str, Any], stops: list[dict[str, Any]]) -> None:
    await tx.execute(insert(routes).values(**values))
    if stops:
        await tx.execute(insert(route_stops), stops)


async def add_stop(tx: Tx, values: dict[str, Any]) -> None:
    await tx.execute(insert(route_stops).values(**values))


async def get_route(
    tx: Tx, route_id: UUID, driver_id: UUID, *, for_update: bool = False
) -> Row[Any] | None:
    query = select(routes).where(routes.c.id == route_id, routes.c.driver_id == driver_id)
    if for_update:
        query = query.with_for_update()
    return (await tx.execute(query)).first()


async def get_route_any_driver(tx: Tx, route_id: UUID) -> Row[Any] | None:
    return (await tx.execute(select(routes).where(routes.c.id == route_id))).first()


async def stops_of(tx: Tx, route_id: UUID) -> list[Row[Any]]:
    result = await tx.execute(
        select(route_stops)
        .where(route_stops.c.route_id == route_id)
        .order_by(route_stops.c.sequence)
    )
    return list(result.all())


async def update_stop(tx: Tx, stop_id: UUID, **values: Any) -> None:
    await tx.execute(update(route_stops).where(route_stops.c.id == stop_id).values(**values))


async def current_route_id(tx: Tx, driver_id: UUID) -> UUID | None:
    result = await tx.execute(
        select(routes.c.id)
        .where(routes.c.driver_id == driver_id, routes.c.completed_at.is_(None))
        .order_by(routes.c.accepted_at.desc())
        .limit(1)
    )
    value = result.scalar_one_or_none()
    return None if value is None else UUID(str(value))


async def complete(tx: Tx, route_id: UUID, at: datetime) -> None:
    await tx.execute(update(routes).where(routes.c.id == route_id).values(completed_at=at))


async def mark_assigned(tx: Tx, route_id: UUID, driver_id: UUID, at: datetime) -> bool:
    result = await tx.execute(
        update(routes)
        .where(routes.c.id == route_id, routes.c.driver_id == driver_id)
        .values(assigned_at=at)
        .returning(routes.c.id)
    )
    return result.first() is not None


async def stops_of_shipments(tx: Tx, shipment_ids: list[UUID]) -> list[Row[Any]]:
    result = await tx.execute(
        select(route_stops)
        .where(route_stops.c.shipment_id.in_(shipment_ids))
        .order_by(route_stops.c.route_id, route_stops.c.sequence)
    )
    return list(result.all())


async def completed_routes(
    tx: Tx, driver_id: UUID, start: datetime, end: datetime
) -> list[Row[Any]]:
    wait = (
        select(func.coalesce(func.sum(route_stops.c.wait_pay_cents), 0))
        .where(route_stops.c.route_id == routes.c.id)
        .scalar_subquery()
    )
    result = await tx.execute(
        select(routes, wait.label("wait_pay_cents"))
        .where(
            routes.c.driver_id == driver_id,
            routes.c.completed_at >= start,
            routes.c.completed_at < end,
        )
        .order_by(routes.c.completed_at)
    )
    return list(result.all())


async def save_photo(tx: Tx, sha256: str, content_type: str, content: bytes) -> None:
    await tx.execute(
        pg_insert(photos)
        .values(sha256=sha256, content_type=content_type, size_bytes=len(content), content=content)
        .on_conflict_do_nothing(index_elements=[photos.c.sha256])
    )


async def remember_cancelled(tx: Tx, shipment_ids: list[UUID], at: datetime) -> None:
    if shipment_ids:
        await tx.execute(
            pg_insert(cancelled_shipments).on_conflict_do_nothing(),
            [{"shipment_id": s, "cancelled_at": at} for s in shipment_ids],
        )


async def cancelled_among(tx: Tx, shipment_ids: list[UUID]) -> list[UUID]:
    result = await tx.execute(
        select(cancelled_shipments.c.shipment_id).where(
            cancelled_shipments.c.shipment_id.in_(shipment_ids)
        )
    )
    return [UUID(str(s)) for s in result.scalars()]
