"""Orders, shipments, lines, the customer timeline and idempotency keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import and_, delete, select, update
from sqlalchemy.dialects.postgresql import insert

from order_service.domain.order import Line, Order, Shipment, ShipmentStatus
from order_service.store.tables import (
    driver_positions,
    idempotency_keys,
    order_lines,
    order_timeline,
    orders,
    shipments,
)
from shared.db import Tx


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    status: str
    message: str


async def insert_order(tx: Tx, order: Order) -> None:
    await tx.execute(
        orders.insert().values(
            id=order.id,
            customer_id=order.customer_id,
            mall_id=order.mall_id,
            status=order.status.value,
            deliver_by=order.deliver_by,
            currency=order.currency,
            total_cents=order.total_cents,
            address=order.address,
            dropoff_lat=order.dropoff_lat,
            dropoff_lng=order.dropoff_lng,
            contact_name=order.contact_name,
            contact_phone=order.contact_phone,
            pin=order.pin,
            pin_sha256=order.pin_sha256,
            tracking_token=order.tracking_token or None,
            window_starts_at=order.window_starts_at,
            delivery_fee_cents=order.delivery_fee_cents,
            created_at=order.created_at,
            updated_at=order.updated_at,
        )
    )
    for shipment in order.shipments:
        await insert_shipment(tx, shipment, order.created_at)
    if order.lines:
        await tx.execute(
            order_lines.insert(),
            [
                {
                    "id": line.id,
                    "order_id": order.id,
                    "shipment_id": line.shipment_id,
                    "position": line.position,
                    "offer_id": line.offer_id,
                    "sku": line.sku,
                    "title": line.title,
                    "quantity": line.quantity,
                    "unit_price_cents": line.unit_price_cents,
                }
                for line in order.lines
            ],
        )


async def insert_shipment(tx: Tx, shipment: Shipment, now: datetime) -> None:
    await tx.execute(
        shipments.insert().values(
            id=shipment.id,
            order_id=shipment.order_id,
            store_id=shipment.store_id,
            status=shipment.status.value,
            labels=shipment.labels,
            created_at=now,
            updated_at=now,
        )
    )


async def get_order(tx: Tx, order_id: UUID, *, for_update: bool = False) -> Order | None:
    query = select(orders).where(orders.c.id == order_id)
    if for_update:
        query = query.with_for_update()
    row = (await tx.execute(query)).first()
    if row is None:
        return None
    return await _order_of(tx, row)


async def order_id_of_tracking_token(tx: Tx, token: str) -> UUID | None:
    row = (await tx.execute(select(orders.c.id).where(orders.c.tracking_token == token))).first()
    return None if row is None else UUID(str(row[0]))


async def _order_of(tx: Tx, row: Any) -> Order:
    order_id = row.id
    order = Order(
        id=row.id,
        customer_id=row.customer_id,
        mall_id=row.mall_id,
        status=ShipmentStatus(row.status),
        deliver_by=row.deliver_by,
        currency=row.currency,
        total_cents=row.total_cents,
        address=dict(row.address),
        dropoff_lat=row.dropoff_lat,
        dropoff_lng=row.dropoff_lng,
        contact_name=row.contact_name,
        contact_phone=row.contact_phone,
        pin=row.pin,
        pin_sha256=row.pin_sha256,
        created_at=row.created_at,
        updated_at=row.updated_at,
        driver_id=row.driver_id,
        route_id=row.route_id,
        is_at_risk=row.is_at_risk,
        delivered_at=row.delivered_at,
        tip_cents=row.tip_cents,
        tipped_at=row.tipped_at,
        tracking_token=row.tracking_token or "",
        window_starts_at=row.window_starts_at,
        delivery_fee_cents=row.delivery_fee_cents,
    )
    shipment_rows = await tx.execute(
        select(shipments).where(shipments.c.order_id == order_id).order_by(shipments.c.created_at)
    )
    order.shipments = [
        Shipment(
            id=s.id,
            order_id=s.order_id,
            store_id=s.store_id,
            status=ShipmentStatus(s.status),
            package_count=s.package_count,
            labels=list(s.labels or []),
            ready_at=s.ready_at,
            created_at=s.created_at,
            missing_labels=list(s.missing_labels or []),
            packed={str(k): int(v) for k, v in dict(s.packed or {}).items()},
            restocked_at=s.restocked_at,
            dropoff_eta=s.dropoff_eta,
            delivered_at=s.delivered_at,
            proof_photo_sha256=s.proof_photo_sha256,
        )
        for s in shipment_rows
    ]
    line_rows = await tx.execute(
        select(order_lines)
        .where(order_lines.c.order_id == order_id)
        .order_by(order_lines.c.position)
    )
    order.lines = [
        Line(
            id=r.id,
            shipment_id=r.shipment_id,
            position=r.position,
            offer_id=r.offer_id,
            sku=r.sku,
            title=r.title,
            quantity=r.quantity,
            unit_price_cents=r.unit_price_cents,
            is_cancelled=r.is_cancelled,
        )
        for r in line_rows
    ]
    return order


async def order_id_of_shipment(tx: Tx, shipment_id: UUID) -> UUID | None:
    row = (
        await tx.execute(select(shipments.c.order_id).where(shipments.c.id == shipment_id))
    ).first()
    return None if row is None else UUID(str(row[0]))


async def save_order(tx: Tx, order: Order, now: datetime) -> None:
    """Writes back what a use case may change: statuses, shipment facts, lines, totals."""
    await tx.execute(
        update(orders)
        .where(orders.c.id == order.id)
        .values(
            status=order.status.value,
            total_cents=order.total_cents,
            driver_id=order.driver_id,
            route_id=order.route_id,
            is_at_risk=order.is_at_risk,
            delivered_at=order.delivered_at,
            tip_cents=order.tip_cents,
            tipped_at=order.tipped_at,
            updated_at=now,
        )
    )
    existing = set(
        (await tx.execute(select(shipments.c.id).where(shipments.c.order_id == order.id)))
        .scalars()
        .all()
    )
    for shipment in order.shipments:
        if shipment.id not in existing:
            await insert_shipment(tx, shipment, now)
        await tx.execute(
            update(shipments)
            .where(shipments.c.id == shipment.id)
            .values(
                status=shipment.status.value,
                package_count=shipment.package_count,
                labels=shipment.labels,
                ready_at=shipment.ready_at,
                missing_labels=shipment.missing_labels,
                packed=shipment.packed,
                restocked_at=shipment.restocked_at,
                dropoff_eta=shipment.dropoff_eta,
                delivered_at=shipment.delivered_at,
                proof_photo_sha256=shipment.proof_photo_sha256,
                updated_at=now,
            )
        )
    for line in order.lines:
        await tx.execute(
            update(order_lines)
            .where(order_lines.c.id == line.id)
            .values(shipment_id=line.shipment_id, is_cancelled=line.is_cancelled)
        )


async def add_timeline(tx: Tx, order_id: UUID, at: datetime, status: str, message: str) -> None:
    await tx.execute(
        order_timeline.insert().values(order_id=order_id, at=at, status=status, message=message)
    )


async def timeline(tx: Tx, order_id: UUID) -> list[TimelineEntry]:
    rows = await tx.execute(
        select(order_timeline.c.at, order_timeline.c.status, order_timeline.c.message)
        .where(order_timeline.c.order_id == order_id)
        .order_by(order_timeline.c.id)
    )
    return [TimelineEntry(r.at, r.status, r.message) for r in rows]


async def store_shipments(
    tx: Tx, store_id: str, statuses: list[ShipmentStatus] | None, limit: int
) -> list[UUID]:
    query = select(shipments.c.id).where(shipments.c.store_id == store_id)
    if statuses:
        query = query.where(shipments.c.status.in_([s.value for s in statuses]))
    rows = await tx.execute(query.order_by(shipments.c.created_at).limit(limit))
    return [UUID(str(r)) for r in rows.scalars()]


async def shipments_placed_before(tx: Tx, cutoff: datetime, limit: int) -> list[UUID]:
    rows = await tx.execute(
        select(shipments.c.id)
        .where(
            and_(
                shipments.c.status == ShipmentStatus.PLACED.value,
                shipments.c.created_at < cutoff,
            )
        )
        .order_by(shipments.c.created_at)
        .limit(limit)
    )
    return [UUID(str(r)) for r in rows.scalars()]


async def claim_idempotency_key(
    tx: Tx, customer_id: str, key: str, request_sha256: str, now: datetime, stale_before: datetime
) -> bool:
    """True if this request owns the key: it is new, or its first holder died mid-way (still
    without an order since before `stale_before`) and this is the same request again."""
    statement = insert(idempotency_keys).values(
        customer_id=customer_id, key=key, request_sha256=request_sha256, created_at=now
    )
    result = await tx.execute(
        statement.on_conflict_do_update(
            index_elements=[idempotency_keys.c.customer_id, idempotency_keys.c.key],
            set_={"created_at": now},
            where=and_(
                idempotency_keys.c.order_id.is_(None),
                idempotency_keys.c.created_at < stale_before,
                idempotency_keys.c.request_sha256 == statement.excluded.request_sha256,
            ),
        ).returning(idempotency_keys.c.key)
    )
    return result.first() is not None


@dataclass(frozen=True)
class IdempotencyRecord:
    request_sha256: str
    order_id: UUID | None


async def get_idempotency_key(tx: Tx, customer_id: str, key: str) -> IdempotencyRecord | None:
    row = (
        await tx.execute(
            select(idempotency_keys.c.request_sha256, idempotency_keys.c.order_id).where(
                and_(idempotency_keys.c.customer_id == customer_id, idempotency_keys.c.key == key)
            )
        )
    ).first()
    return None if row is None else IdempotencyRecord(row[0], row[1])


async def complete_idempotency_key(tx: Tx, customer_id: str, key: str, order_id: UUID) -> None:
    await tx.execute(
        update(idempotency_keys)
        .where(and_(idempotency_keys.c.customer_id == customer_id, idempotency_keys.c.key == key))
        .values(order_id=order_id)
    )


async def drop_idempotency_key(tx: Tx, customer_id: str, key: str) -> None:
    await tx.execute(
        delete(idempotency_keys).where(
            and_(
                idempotency_keys.c.customer_id == customer_id,
                idempotency_keys.c.key == key,
                idempotency_keys.c.order_id.is_(None),
            )
        )
    )


async def known_order_ids(tx: Tx, order_ids: list[UUID]) -> list[UUID]:
    """The ones of these this service has, in id order: the order in which use cases lock."""
    rows = await tx.execute(
        select(orders.c.id).where(orders.c.id.in_(order_ids)).order_by(orders.c.id)
    )
    return [UUID(str(r)) for r in rows.scalars()]


async def record_driver_position(
    tx: Tx, driver_id: UUID, lat: float, lng: float, at: datetime
) -> None:
    statement = insert(driver_positions).values(driver_id=driver_id, lat=lat, lng=lng, at=at)
    await tx.execute(
        statement.on_conflict_do_update(
            index_elements=[driver_positions.c.driver_id],
            set_={"lat": statement.excluded.lat, "lng": statement.excluded.lng, "at": at},
            where=driver_positions.c.at < statement.excluded.at,
        )
    )


async def driver_position(tx: Tx, driver_id: UUID) -> tuple[float, float, datetime] | None:
    row = (
        await tx.execute(
            select(driver_positions.c.lat, driver_positions.c.lng, driver_positions.c.at).where(
                driver_positions.c.driver_id == driver_id
            )
        )
    ).first()
    return None if row is None else (row[0], row[1], row[2])


async def set_trace_context(tx: Tx, order_id: UUID, context: dict[str, str]) -> None:
    await tx.execute(update(orders).where(orders.c.id == order_id).values(trace_context=context))


async def trace_context(tx: Tx, order_id: UUID) -> dict[str, str] | None:
    stored = (
        await tx.execute(select(orders.c.trace_context).where(orders.c.id == order_id))
    ).scalar_one_or_none()
    return dict(stored) if isinstance(stored, dict) else None
