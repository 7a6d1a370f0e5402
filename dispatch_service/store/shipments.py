from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert

from dispatch_service.domain.pool import PooledShipment, PoolStatus
from dispatch_service.store.tables import shipments
from shared.db import Tx
from shared.events.order import OrderReadyForPickup
from shared.geo import Point

# A shipment pooled is announced here at commit: the batching loop wakes to see if a round is due.
POOL_CHANNEL = "dispatch_pool"


async def announce_pooled(tx: Tx, mall_id: str) -> None:
    # NOTIFY is delivered at commit and never for a rollback.
    await tx.execute(
        text("SELECT pg_notify(:channel, :mall_id)"), {"channel": POOL_CHANNEL, "mall_id": mall_id}
    )


async def add_to_pool(tx: Tx, ready: OrderReadyForPickup, now: datetime) -> bool:
    """False when the shipment was already known (a re-sent event changes nothing)."""
    result = await tx.execute(
        insert(shipments)
        .values(
            shipment_id=ready.shipment_id,
            order_id=ready.order_id,
            mall_id=ready.mall_id,
            mall_name=ready.mall_name,
            store_id=ready.store_id,
            store_name=ready.store_name,
            pickup_instructions=ready.pickup_instructions,
            pickup_lat=ready.pickup.lat,
            pickup_lng=ready.pickup.lng,
            package_count=ready.package_count,
            labels=list(ready.labels),
            ready_at=ready.ready_at,
            deliver_by=ready.deliver_by,
            deliver_from=ready.window_starts_at,
            dropoff_lat=ready.dropoff.lat,
            dropoff_lng=ready.dropoff.lng,
            dropoff_address=ready.dropoff_address,
            dropoff_area=ready.dropoff_area,
            pin_sha256=ready.pin_sha256,
            status=PoolStatus.POOLED,
            received_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["shipment_id"])
        .returning(shipments.c.shipment_id)
    )
    return result.first() is not None


def _shipment(row: Any) -> PooledShipment:
    return PooledShipment(
        shipment_id=row.shipment_id,
        order_id=row.order_id,
        mall_id=row.mall_id,
        store_id=row.store_id,
        store_name=row.store_name,
        pickup_instructions=row.pickup_instructions,
        pickup=Point(row.pickup_lat, row.pickup_lng),
        package_count=row.package_count,
        labels=tuple(row.labels),
        ready_at=row.ready_at,
        deliver_by=row.deliver_by,
        dropoff=Point(row.dropoff_lat, row.dropoff_lng),
        dropoff_address=row.dropoff_address,
        dropoff_area=row.dropoff_area,
        pin_sha256=row.pin_sha256,
        at_risk_at=row.at_risk_at,
        deliver_from=row.deliver_from,
    )


async def pooled(tx: Tx, mall_id: str, *, for_update: bool = False) -> list[PooledShipment]:
    query = (
        select(shipments)
        .where(shipments.c.mall_id == mall_id, shipments.c.status == PoolStatus.POOLED)
        .order_by(shipments.c.deliver_by, shipments.c.shipment_id)
    )
    if for_update:
        query = query.with_for_update()
    return [_shipment(row) for row in (await tx.execute(query)).all()]


async def malls_with_pool(tx: Tx) -> list[str]:
    result = await tx.execute(
        select(shipments.c.mall_id)
        .where(shipments.c.status == PoolStatus.POOLED)
        .distinct()
        .order_by(shipments.c.mall_id)
    )
    return list(result.scalars())


async def mall_name(tx: Tx, mall_id: str) -> str | None:
    result = await tx.execute(
        select(shipments.c.mall_name).where(shipments.c.mall_id == mall_id).limit(1)
    )
    return result.scalar_one_or_none()


async def statuses(
    tx: Tx, order_id: UUID, shipment_ids: Collection[UUID]
) -> dict[UUID, tuple[str, UUID | None]]:
    """shipment id -> (status, route id) of the named shipments, or of all the order's."""
    condition = (
        shipments.c.shipment_id.in_(list(shipment_ids))
        if shipment_ids
        else shipments.c.order_id == order_id
    )
    result = await tx.execute(
        select(shipments.c.shipment_id, shipments.c.status, shipments.c.route_id).where(condition)
    )
    return {row.shipment_id: (row.status, row.route_id) for row in result.all()}


async def statuses_for_update(
    tx: Tx, shipment_ids: Collection[UUID]
) -> dict[UUID, tuple[str, UUID | None]]:
    """shipment id -> (status, route id), locking the rows."""
    result = await tx.execute(
        select(shipments.c.shipment_id, shipments.c.status, shipments.c.route_id)
        .where(shipments.c.shipment_id.in_(list(shipment_ids)))
        .order_by(shipments.c.shipment_id)
        .with_for_update()
    )
    return {row.shipment_id: (row.status, row.route_id) for row in result.all()}


async def mark_routed(
    tx: Tx, shipment_ids: Collection[UUID], route_id: UUID, now: datetime
) -> None:
    await tx.execute(
        update(shipments)
        .where(shipments.c.shipment_id.in_(list(shipment_ids)))
        .values(status=PoolStatus.ROUTED, route_id=route_id, updated_at=now)
    )


async def return_route_to_pool(tx: Tx, route_id: UUID, now: datetime) -> int:
    result = await tx.execute(
        update(shipments)
        .where(shipments.c.route_id == route_id, shipments.c.status == PoolStatus.ROUTED)
        .values(status=PoolStatus.POOLED, route_id=None, updated_at=now)
    )
    return result.rowcount


async def mark_cancelled(tx: Tx, shipment_ids: Collection[UUID], now: datetime) -> None:
    await tx.execute(
        update(shipments)
        .where(shipments.c.shipment_id.in_(list(shipment_ids)))
        .values(status=PoolStatus.CANCELLED, updated_at=now)
    )


async def flag_at_risk(tx: Tx, shipment_ids: Collection[UUID], now: datetime) -> None:
    await tx.execute(
        update(shipments)
        .where(shipments.c.shipment_id.in_(list(shipment_ids)), shipments.c.at_risk_at.is_(None))
        .values(at_risk_at=now, updated_at=now)
    )


async def count_at_risk_in_pool(tx: Tx, mall_id: str) -> int:
    result = await tx.execute(
        select(func.count())
        .select_from(shipments)
        .where(
            shipments.c.mall_id == mall_id,
            shipments.c.status == PoolStatus.POOLED,
            shipments.c.at_risk_at.is_not(None),
        )
    )
    return int(result.scalar_one())


async def get(tx: Tx, shipment_id: UUID) -> PooledShipment | None:
    row = (
        await tx.execute(select(shipments).where(shipments.c.shipment_id == shipment_id))
    ).first()
    return None if row is None else _shipment(row)


async def return_to_pool(tx: Tx, shipment_ids: Collection[UUID], now: datetime) -> None:
    """Routed shipments a route could not take after all: planned again by the next round."""
    await tx.execute(
        update(shipments)
        .where(
            shipments.c.shipment_id.in_(list(shipment_ids)),
            shipments.c.status == PoolStatus.ROUTED,
        )
        .values(status=PoolStatus.POOLED, route_id=None, updated_at=now)
    )


async def routed_to(tx: Tx, route_id: UUID) -> list[UUID]:
    result = await tx.execute(
        select(shipments.c.shipment_id).where(
            shipments.c.route_id == route_id, shipments.c.status == PoolStatus.ROUTED
        )
    )
    return list(result.scalars())


async def set_trace_context(tx: Tx, shipment_id: UUID, context: dict[str, str]) -> None:
    await tx.execute(
        update(shipments)
        .where(shipments.c.shipment_id == shipment_id)
        .values(trace_context=context)
    )


async def trace_contexts_of_route(tx: Tx, route_id: UUID) -> list[dict[str, str]]:
    """The traces of the orders on a route, the earliest received first."""
    rows = await tx.execute(
        select(shipments.c.trace_context)
        .where(shipments.c.route_id == route_id, shipments.c.trace_context.is_not(None))
        .order_by(shipments.c.received_at)
    )
    return [dict(context) for context in rows.scalars() if isinstance(context, dict)]
