"""Accepted routes with their stops, proof photos, and cancellations heard before an accept."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Row

from driver_service.domain.route import Route
from driver_service.domain.stop import Stop
from driver_service.store.tables import cancelled_shipments, photos, route_stops, routes
from shared.db import Tx
from shared.events.dispatch import StopKind
from shared.events.driver import StopStatus

_STOP_FIELDS = (
    "sequence",
    "status",
    "labels",
    "package_count",
    "eta",
    "picked_labels",
    "missing_labels",
    "arrived_at",
    "done_at",
    "fail_reason",
    "proof_photo_sha256",
    "wait_pay_cents",
)


def _stop_values(route_id: UUID, stop: Stop) -> dict[str, Any]:
    return {
        "id": stop.id,
        "route_id": route_id,
        "sequence": stop.sequence,
        "kind": stop.kind.value,
        "shipment_id": stop.shipment_id,
        "order_id": stop.order_id,
        "store_id": stop.store_id,
        "store_name": stop.store_name,
        "lat": stop.lat,
        "lng": stop.lng,
        "address": stop.address,
        "area": stop.area,
        "instructions": stop.instructions,
        "labels": list(stop.labels),
        "package_count": stop.package_count,
        "eta": stop.eta,
        "deliver_by": stop.deliver_by,
        "deliver_from": stop.deliver_from,
        "pin_sha256": stop.pin_sha256,
        "status": stop.status.value,
        "picked_labels": stop.picked_labels,
        "missing_labels": stop.missing_labels,
        "arrived_at": stop.arrived_at,
        "done_at": stop.done_at,
        "fail_reason": stop.fail_reason,
        "proof_photo_sha256": stop.proof_photo_sha256,
        "wait_pay_cents": stop.wait_pay_cents,
    }


def _stop(row: Row[Any]) -> Stop:
    return Stop(
        id=row.id,
        sequence=row.sequence,
        kind=StopKind(row.kind),
        shipment_id=row.shipment_id,
        order_id=row.order_id,
        store_id=row.store_id,
        store_name=row.store_name,
        lat=row.lat,
        lng=row.lng,
        address=row.address,
        area=row.area,
        instructions=row.instructions,
        labels=list(row.labels),
        package_count=row.package_count,
        eta=row.eta,
        deliver_by=row.deliver_by,
        deliver_from=row.deliver_from,
        pin_sha256=row.pin_sha256,
        status=StopStatus(row.status),
        picked_labels=list(row.picked_labels) if row.picked_labels is not None else None,
        missing_labels=list(row.missing_labels) if row.missing_labels is not None else None,
        arrived_at=row.arrived_at,
        done_at=row.done_at,
        fail_reason=row.fail_reason,
        proof_photo_sha256=row.proof_photo_sha256,
        wait_pay_cents=row.wait_pay_cents,
    )


async def get(
    tx: Tx, route_id: UUID, *, driver_id: UUID | None = None, for_update: bool = False
) -> Route | None:
    """The route (only if it is this driver's, when one is named), locked on request."""
    query = select(routes).where(routes.c.id == route_id)
    if driver_id is not None:
        query = query.where(routes.c.driver_id == driver_id)
    if for_update:
        query = query.with_for_update()
    row = (await tx.execute(query)).first()
    if row is None:
        return None
    stops = await tx.execute(
        select(route_stops)
        .where(route_stops.c.route_id == route_id)
        .order_by(route_stops.c.sequence)
    )
    return Route(
        id=row.id,
        offer_id=row.offer_id,
        driver_id=row.driver_id,
        mall_id=row.mall_id,
        pay_cents=row.pay_cents,
        currency=row.currency,
        hourly_floor_cents=row.hourly_floor_cents,
        block_minutes=row.block_minutes,
        accepted_at=row.accepted_at,
        tip_cents=row.tip_cents,
        assigned_at=row.assigned_at,
        completed_at=row.completed_at,
        revision=row.revision,
        stops=[_stop(s) for s in stops],
    )


async def insert_route(tx: Tx, route: Route) -> None:
    await tx.execute(
        insert(routes).values(
            id=route.id,
            offer_id=route.offer_id,
            driver_id=route.driver_id,
            mall_id=route.mall_id,
            pay_cents=route.pay_cents,
            currency=route.currency,
            hourly_floor_cents=route.hourly_floor_cents,
            block_minutes=route.block_minutes,
            tip_cents=route.tip_cents,
            accepted_at=route.accepted_at,
            assigned_at=route.assigned_at,
            completed_at=route.completed_at,
            revision=route.revision,
        )
    )
    if route.stops:
        await tx.execute(insert(route_stops), [_stop_values(route.id, s) for s in route.stops])


async def save(tx: Tx, route: Route) -> None:
    """Writes back what the domain may change: the route's progress and tips, every stop."""
    await tx.execute(
        update(routes)
        .where(routes.c.id == route.id)
        .values(
            tip_cents=route.tip_cents,
            assigned_at=route.assigned_at,
            completed_at=route.completed_at,
            revision=route.revision,
        )
    )
    known = set(
        (await tx.execute(select(route_stops.c.id).where(route_stops.c.route_id == route.id)))
        .scalars()
        .all()
    )
    for stop in route.stops:
        values = _stop_values(route.id, stop)
        if stop.id not in known:
            await tx.execute(insert(route_stops).values(**values))
        else:
            await tx.execute(
                update(route_stops)
                .where(route_stops.c.id == stop.id)
                .values({name: values[name] for name in _STOP_FIELDS})
            )


async def lock_shipments(tx: Tx, shipment_ids: Collection[UUID]) -> None:
    """Serialises an accept with a cancellation of the same shipments until commit, in one
    order so two lockers never deadlock: otherwise each could miss the other's uncommitted row
    (the accept its cancellation, the cancellation its route)."""
    for shipment_id in sorted(set(shipment_ids), key=str):
        await tx.execute(
            text("SELECT pg_advisory_xact_lock(3, hashtext(:id))"), {"id": str(shipment_id)}
        )


async def route_ids_of_shipments(tx: Tx, shipment_ids: Collection[UUID]) -> list[UUID]:
    result = await tx.execute(
        select(route_stops.c.route_id)
        .where(route_stops.c.shipment_id.in_(list(shipment_ids)))
        .distinct()
        .order_by(route_stops.c.route_id)
    )
    return [UUID(str(r)) for r in result.scalars()]


async def route_ids_delivering(tx: Tx, order_id: UUID) -> list[UUID]:
    """Routes whose drop-off of this order was delivered, in id order."""
    result = await tx.execute(
        select(route_stops.c.route_id)
        .where(
            route_stops.c.order_id == order_id,
            route_stops.c.kind == StopKind.DROPOFF.value,
            route_stops.c.status == StopStatus.DELIVERED.value,
        )
        .distinct()
        .order_by(route_stops.c.route_id)
    )
    return [UUID(str(r)) for r in result.scalars()]


async def current_route_id(tx: Tx, driver_id: UUID) -> UUID | None:
    result = await tx.execute(
        select(routes.c.id)
        .where(routes.c.driver_id == driver_id, routes.c.completed_at.is_(None))
        .order_by(routes.c.accepted_at.desc())
        .limit(1)
    )
    value = result.scalar_one_or_none()
    return None if value is None else UUID(str(value))


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


async def remember_cancelled(tx: Tx, shipment_ids: Collection[UUID], at: datetime) -> None:
    if shipment_ids:
        await tx.execute(
            pg_insert(cancelled_shipments).on_conflict_do_nothing(),
            [{"shipment_id": s, "cancelled_at": at} for s in shipment_ids],
        )


async def cancelled_among(tx: Tx, shipment_ids: Collection[UUID]) -> set[UUID]:
    result = await tx.execute(
        select(cancelled_shipments.c.shipment_id).where(
            cancelled_shipments.c.shipment_id.in_(list(shipment_ids))
        )
    )
    return {UUID(str(s)) for s in result.scalars()}


async def photo(tx: Tx, sha256: str) -> tuple[str, bytes] | None:
    """(content type, bytes) of a proof photo."""
    row = (
        await tx.execute(
            select(photos.c.content_type, photos.c.content).where(photos.c.sha256 == sha256)
        )
    ).first()
    return None if row is None else (str(row[0]), bytes(row[1]))
