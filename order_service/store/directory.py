"""The store directory and stock copies, and the row locks that keep reservations honest."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert

from order_service.domain.order import HOLDING_STOCK
from order_service.store.tables import shipments, stock, stores
from shared.db import Tx
from shared.geo import Point


@dataclass(frozen=True)
class StoreRow:
    store_id: str
    mall_id: str
    mall_name: str
    name: str
    location: Point
    pickup_instructions: str
    is_active: bool


@dataclass(frozen=True)
class SeedStore:
    store_id: str
    mall_id: str
    mall_name: str
    name: str
    lat: float
    lng: float
    pickup_instructions: str
    prep_minutes: int


async def upsert_store(tx: Tx, values: dict[str, object]) -> None:
    statement = insert(stores).values(**values)
    await tx.execute(
        statement.on_conflict_do_update(
            index_elements=[stores.c.store_id],
            set_={k: statement.excluded[k] for k in values if k != "store_id"},
        )
    )


async def seed_stores(tx: Tx, seeds: Sequence[SeedStore]) -> None:
    """Adds stores the directory has not heard of yet; store.upserted stays the authority."""
    for seed in sorted(seeds, key=lambda s: s.store_id):
        await tx.execute(
            insert(stores)
            .values(
                store_id=seed.store_id,
                mall_id=seed.mall_id,
                mall_name=seed.mall_name,
                name=seed.name,
                lat=seed.lat,
                lng=seed.lng,
                pickup_instructions=seed.pickup_instructions,
                prep_minutes=seed.prep_minutes,
            )
            .on_conflict_do_nothing(index_elements=[stores.c.store_id])
        )


async def seed_stock(tx: Tx, counts: Iterable[tuple[str, str, int]]) -> None:
    """(store_id, sku, quantity) counts from an offer: they carry no time, so they never
    overwrite a count we already have, only fill a gap."""
    for store_id, sku, quantity in sorted(set(counts)):
        await tx.execute(
            insert(stock)
            .values(store_id=store_id, sku=sku, quantity=quantity)
            .on_conflict_do_nothing(index_elements=[stock.c.store_id, stock.c.sku])
        )


async def set_stock_count(tx: Tx, store_id: str, sku: str, quantity: int, as_of: datetime) -> bool:
    """Applies a retailer count unless a newer one is already stored."""
    statement = insert(stock).values(store_id=store_id, sku=sku, quantity=quantity, as_of=as_of)
    result = await tx.execute(
        statement.on_conflict_do_update(
            index_elements=[stock.c.store_id, stock.c.sku],
            set_={"quantity": statement.excluded.quantity, "as_of": statement.excluded.as_of},
            where=or_(stock.c.as_of.is_(None), stock.c.as_of < statement.excluded.as_of),
        ).returning(stock.c.sku)
    )
    return result.first() is not None


async def lock_available(tx: Tx, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Locks the (store_id, sku) stock rows, in one global order so lockers never deadlock,
    and returns what is free at each."""
    ordered = sorted(set(pairs))
    if not ordered:
        return {}
    rows = await tx.execute(
        select(stock.c.store_id, stock.c.sku, stock.c.quantity - stock.c.reserved)
        .where(tuple_(stock.c.store_id, stock.c.sku).in_(ordered))
        .order_by(stock.c.store_id, stock.c.sku)
        .with_for_update()
    )
    return {(r[0], r[1]): max(0, int(r[2])) for r in rows}


async def mall_stock_pairs(tx: Tx, mall_id: str, skus: Iterable[str]) -> list[tuple[str, str]]:
    rows = await tx.execute(
        select(stock.c.store_id, stock.c.sku)
        .join(stores, stores.c.store_id == stock.c.store_id)
        .where(and_(stores.c.mall_id == mall_id, stock.c.sku.in_(list(skus))))
    )
    return [(r[0], r[1]) for r in rows]


async def reserve(tx: Tx, store_id: str, sku: str, quantity: int) -> None:
    await tx.execute(
        update(stock)
        .where(and_(stock.c.store_id == store_id, stock.c.sku == sku))
        .values(reserved=stock.c.reserved + quantity)
    )


async def release(tx: Tx, store_id: str, sku: str, quantity: int, *, is_taken: bool) -> None:
    """Drops a hold; `is_taken` when the goods left the shelf (packed), so the count drops too."""
    values: dict[str, object] = {"reserved": func.greatest(stock.c.reserved - quantity, 0)}
    if is_taken:
        values["quantity"] = func.greatest(stock.c.quantity - quantity, 0)
    await tx.execute(
        update(stock).where(and_(stock.c.store_id == store_id, stock.c.sku == sku)).values(values)
    )


async def mark_out_of_stock(tx: Tx, store_id: str, sku: str) -> None:
    await tx.execute(
        update(stock)
        .where(and_(stock.c.store_id == store_id, stock.c.sku == sku))
        .values(quantity=0)
    )


async def get_stores(tx: Tx, store_ids: Iterable[str]) -> dict[str, StoreRow]:
    rows = await tx.execute(select(stores).where(stores.c.store_id.in_(list(store_ids))))
    return {
        r.store_id: StoreRow(
            store_id=r.store_id,
            mall_id=r.mall_id,
            mall_name=r.mall_name,
            name=r.name,
            location=Point(r.lat, r.lng),
            pickup_instructions=r.pickup_instructions,
            is_active=r.is_active,
        )
        for r in rows
    }


async def loads(tx: Tx, store_ids: Iterable[str]) -> dict[str, int]:
    rows = await tx.execute(
        select(shipments.c.store_id, func.count())
        .where(
            and_(
                shipments.c.store_id.in_(list(store_ids)),
                shipments.c.status.in_([s.value for s in HOLDING_STOCK]),
            )
        )
        .group_by(shipments.c.store_id)
    )
    return {r[0]: int(r[1]) for r in rows}
