"""The store directory and stock copies, and the row locks that keep reservations honest."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby

from sqlalchemy import (
    Integer,
    Update,
    and_,
    bindparam,
    func,
    literal_column,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.sql.elements import ColumnElement

from order_service.domain.order import HOLDING_STOCK, StockMove, StockMoveKind, Store
from order_service.store.tables import mall_capacity, shipments, stock, stores
from shared.db import Tx
from shared.geo import Point


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


# Built once: the hot path only binds values to them.
_SEED_STORE = insert(stores).on_conflict_do_nothing(index_elements=[stores.c.store_id])
_SEED_STOCK = insert(stock).on_conflict_do_nothing(index_elements=[stock.c.store_id, stock.c.sku])


async def seed_stores(tx: Tx, seeds: Sequence[SeedStore]) -> None:
    """Adds stores the directory has not heard of yet; store.upserted stays the authority."""
    if not seeds:
        return
    # One round trip; sorted, so two checkouts seeding the same new stores never deadlock.
    await tx.execute(
        _SEED_STORE,
        [
            {
                "store_id": seed.store_id,
                "mall_id": seed.mall_id,
                "mall_name": seed.mall_name,
                "name": seed.name,
                "lat": seed.lat,
                "lng": seed.lng,
                "pickup_instructions": seed.pickup_instructions,
                "prep_minutes": seed.prep_minutes,
            }
            for seed in sorted(seeds, key=lambda s: s.store_id)
        ],
    )


async def seed_stock(tx: Tx, counts: Iterable[tuple[str, str, int]]) -> None:
    """(store_id, sku, quantity) counts from an offer: they carry no time, so they never
    overwrite a count we already have, only fill a gap."""
    rows = [
        {"store_id": store_id, "sku": sku, "quantity": quantity}
        for store_id, sku, quantity in sorted(set(counts))
    ]
    if rows:
        await tx.execute(_SEED_STOCK, rows)


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


@dataclass(frozen=True)
class LockedStock:
    store_id: str
    sku: str
    free: int
    mall_id: str
    location: Point
    is_active: bool
    # Shipments the store holds stock for now: the busier store loses a tie.
    load: int


_LOAD = (
    select(func.count())
    .where(
        and_(
            shipments.c.store_id == stock.c.store_id,
            shipments.c.status.in_([s.value for s in HOLDING_STOCK]),
        )
    )
    .scalar_subquery()
)


async def lock_candidates(tx: Tx, pairs: Iterable[tuple[str, str]]) -> list[LockedStock]:
    """The (store_id, sku) stock rows, locked in one global order so lockers never deadlock,
    with what is free at each and the store's place and load: one round trip, and only the
    stock rows are locked."""
    ordered = sorted(set(pairs))
    if not ordered:
        return []
    rows = await tx.execute(
        select(
            stock.c.store_id,
            stock.c.sku,
            stock.c.quantity - stock.c.reserved,
            stores.c.mall_id,
            stores.c.lat,
            stores.c.lng,
            stores.c.is_active,
            _LOAD,
        )
        .join(stores, stores.c.store_id == stock.c.store_id)
        .where(tuple_(stock.c.store_id, stock.c.sku).in_(ordered))
        .order_by(stock.c.store_id, stock.c.sku)
        .with_for_update(of=stock)
    )
    return [
        LockedStock(r[0], r[1], max(0, int(r[2])), r[3], Point(r[4], r[5]), r[6], int(r[7]))
        for r in rows
    ]


async def mall_stock_pairs(tx: Tx, mall_id: str, skus: Iterable[str]) -> list[tuple[str, str]]:
    rows = await tx.execute(
        select(stock.c.store_id, stock.c.sku)
        .join(stores, stores.c.store_id == stock.c.store_id)
        .where(and_(stores.c.mall_id == mall_id, stock.c.sku.in_(list(skus))))
    )
    return [(r[0], r[1]) for r in rows]


async def apply_moves(tx: Tx, moves: Sequence[StockMove]) -> None:
    """Writes the domain's stock moves; holds and counts never go below zero. A run of moves
    of one kind is one round trip (the statements are built once, at import)."""
    for kind, run in groupby(moves, key=lambda move: move.kind):
        statement = _MOVES[kind]
        if statement is not None:
            await tx.execute(
                statement,
                [{"b_store": m.store_id, "b_sku": m.sku, "b_quantity": m.quantity} for m in run],
            )


def _move(values: Callable[[ColumnElement[int]], dict[str, object]]) -> Update:
    quantity: ColumnElement[int] = bindparam("b_quantity", type_=Integer)
    where = and_(stock.c.store_id == bindparam("b_store"), stock.c.sku == bindparam("b_sku"))
    return update(stock).where(where).values(values(quantity))


def _less(column: ColumnElement[int], quantity: ColumnElement[int]) -> ColumnElement[int]:
    return func.greatest(column - quantity, 0)


_MOVES: dict[StockMoveKind, Update | None] = {
    StockMoveKind.RESERVE: _move(lambda q: {"reserved": stock.c.reserved + q}),
    StockMoveKind.RELEASE: _move(lambda q: {"reserved": _less(stock.c.reserved, q)}),
    StockMoveKind.TAKE: _move(
        lambda q: {"reserved": _less(stock.c.reserved, q), "quantity": _less(stock.c.quantity, q)}
    ),
    StockMoveKind.RESTOCK: _move(lambda q: {"quantity": stock.c.quantity + q}),
    StockMoveKind.UNRESTOCK: _move(lambda q: {"quantity": _less(stock.c.quantity, q)}),
    # Packed goods already left the count when they were packed.
    StockMoveKind.WRITE_OFF: None,
    StockMoveKind.ZERO: _move(lambda q: {"quantity": literal_column("0")}),
}


async def get_stores(tx: Tx, store_ids: Iterable[str]) -> dict[str, Store]:
    rows = await tx.execute(select(stores).where(stores.c.store_id.in_(list(store_ids))))
    return {
        r.store_id: Store(
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


async def mall_store_points(tx: Tx, mall_id: str) -> list[Point]:
    rows = await tx.execute(select(stores.c.lat, stores.c.lng).where(stores.c.mall_id == mall_id))
    return [Point(r.lat, r.lng) for r in rows]


async def stock_of(tx: Tx, store_id: str, sku: str) -> tuple[int, int] | None:
    """(quantity on the shelf, of it held for orders) of one SKU at one store."""
    row = (
        await tx.execute(
            select(stock.c.quantity, stock.c.reserved).where(
                and_(stock.c.store_id == store_id, stock.c.sku == sku)
            )
        )
    ).first()
    return None if row is None else (int(row[0]), int(row[1]))


async def set_mall_capacity(tx: Tx, mall_id: str, orders_per_hour: float, now: datetime) -> None:
    statement = insert(mall_capacity).values(
        mall_id=mall_id, orders_per_hour=orders_per_hour, updated_at=now
    )
    await tx.execute(
        statement.on_conflict_do_update(
            index_elements=[mall_capacity.c.mall_id],
            set_={"orders_per_hour": orders_per_hour, "updated_at": now},
        )
    )


async def mall_orders_per_hour(tx: Tx, mall_id: str) -> float | None:
    row = (
        await tx.execute(
            select(mall_capacity.c.orders_per_hour).where(mall_capacity.c.mall_id == mall_id)
        )
    ).first()
    return None if row is None or row[0] is None else float(row[0])
