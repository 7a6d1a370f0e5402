"""Queries of the catalog tables (SQLAlchemy Core)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from sqlalchemy import func, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert

from catalog_service.domain.inventory import StockChange, StockLevel
from catalog_service.domain.listings import Product
from catalog_service.domain.promise import CapacityRule, MallRules
from catalog_service.store.tables import (
    inventory,
    malls,
    products,
    retailers,
    stores,
    zone_capacity,
)
from shared.db import Tx
from shared.geo import Point, TravelModel

_STORE_LOCK_CLASS = 3
_BULK_ROWS = 5_000


@dataclass(frozen=True, slots=True)
class StoreRow:
    id: str
    retailer_id: str
    retailer_name: str
    mall_id: str
    mall_name: str
    name: str
    address: str
    phone: str
    lat: float
    lng: float
    timezone: str
    prep_minutes: int
    pickup_instructions: str
    is_active: bool


@dataclass(frozen=True, slots=True)
class MallRow:
    id: str
    name: str
    address: str
    lat: float
    lng: float
    timezone: str


@dataclass(frozen=True, slots=True)
class StockedStore:
    store: StoreRow
    quantity: int


async def insert_malls_if_missing(tx: Tx, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await tx.execute(insert(malls).values(list(rows)).on_conflict_do_nothing())


async def mall_rules(tx: Tx) -> list[MallRules]:
    result = await tx.execute(select(malls).order_by(malls.c.id))
    return [
        MallRules(
            mall_id=row.id,
            point=Point(row.lat, row.lng),
            timezone=row.timezone,
            hours={
                day: (time.fromisoformat(span[0]), time.fromisoformat(span[1]))
                for day, span in row.hours.items()
            },
            delivery_radius_m=row.delivery_radius_m,
            travel=TravelModel(row.road_factor, row.average_speed_kmh),
            cutoff_minutes_before_close=row.cutoff_minutes_before_close,
            prep_minutes=row.prep_minutes,
        )
        for row in result
    ]


async def mall_rows(tx: Tx) -> list[MallRow]:
    result = await tx.execute(
        select(malls.c.id, malls.c.name, malls.c.address, malls.c.lat, malls.c.lng,
               malls.c.timezone).order_by(malls.c.id)
    )  # fmt: skip
    return [MallRow(*row) for row in result]


async def retailer_for_key(tx: Tx, key_sha256: str) -> str | None:
    result = await tx.execute(
        select(retailers.c.id).where(retailers.c.api_key_sha256 == key_sha256)
    )
    return result.scalar_one_or_none()


async def set_retailer_key(tx: Tx, retailer_id: str, key_sha256: str) -> bool:
    result = await tx.execute(
        retailers.update().where(retailers.c.id == retailer_id).values(api_key_sha256=key_sha256)
    )
    return bool(result.rowcount)


async def has_stores(tx: Tx) -> bool:
    return (await tx.execute(select(func.count()).select_from(stores))).scalar_one() > 0


async def bulk_insert(tx: Tx, table: Any, rows: Sequence[dict[str, Any]]) -> None:
    for start in range(0, len(rows), _BULK_ROWS):
        await tx.execute(table.insert(), list(rows[start : start + _BULK_ROWS]))


def _store_query() -> Any:
    return (
        select(
            stores.c.id, stores.c.retailer_id, retailers.c.name.label("retailer_name"),
            stores.c.mall_id, malls.c.name.label("mall_name"), stores.c.name, stores.c.address,
            stores.c.phone, stores.c.lat, stores.c.lng, malls.c.timezone, stores.c.prep_minutes,
            stores.c.pickup_instructions, stores.c.is_active,
        )
        .join(retailers, retailers.c.id == stores.c.retailer_id)
        .join(malls, malls.c.id == stores.c.mall_id)
    )  # fmt: skip


async def all_stores(tx: Tx) -> list[StoreRow]:
    result = await tx.execute(_store_query().order_by(stores.c.mall_id, stores.c.id))
    return [StoreRow(*row) for row in result]


async def store_ids_of(tx: Tx, retailer_id: str) -> set[str]:
    result = await tx.execute(select(stores.c.id).where(stores.c.retailer_id == retailer_id))
    return set(result.scalars())


async def stocked_stores(tx: Tx, mall_id: str, sku: str) -> list[StockedStore]:
    result = await tx.execute(
        _store_query()
        .add_columns(inventory.c.quantity)
        .join(inventory, inventory.c.store_id == stores.c.id)
        .where(
            stores.c.mall_id == mall_id,
            stores.c.is_active,
            inventory.c.sku == sku,
            inventory.c.quantity > 0,
        )
        .order_by(inventory.c.quantity.desc(), stores.c.id)
    )
    return [StockedStore(StoreRow(*row[:-1]), row[-1]) for row in result]


def _product(row: Any) -> Product:
    return Product(
        sku=row.sku,
        gtin=row.gtin,
        title=row.title,
        brand=row.brand,
        category=row.category,
        price_cents=row.price_cents,
        currency=row.currency,
        image_urls=tuple(row.image_urls),
    )


async def product(tx: Tx, sku: str) -> Product | None:
    row = (await tx.execute(select(products).where(products.c.sku == sku))).first()
    return None if row is None else _product(row)


async def stream_products(tx: Tx) -> AsyncIterator[Product]:
    result = await tx.stream(select(products))
    async for row in result:
        yield _product(row)


async def stream_stock(tx: Tx) -> AsyncIterator[tuple[str, str, str, int, datetime]]:
    """(store_id, mall_id, sku, quantity, as_of) of every stored count."""
    result = await tx.stream(
        select(
            inventory.c.store_id, stores.c.mall_id, inventory.c.sku, inventory.c.quantity,
            inventory.c.as_of,
        ).join(stores, stores.c.id == inventory.c.store_id)
    )  # fmt: skip
    async for row in result:
        yield row.store_id, row.mall_id, row.sku, row.quantity, row.as_of


async def product_owners(tx: Tx, skus: Iterable[str]) -> dict[str, str]:
    result = await tx.execute(
        select(products.c.sku, products.c.retailer_id).where(products.c.sku.in_(list(skus)))
    )
    return {row.sku: row.retailer_id for row in result}


async def upsert_products(tx: Tx, retailer_id: str, items: Sequence[Product]) -> None:
    rows = [
        {
            "sku": p.sku, "retailer_id": retailer_id, "gtin": p.gtin, "title": p.title,
            "brand": p.brand, "category": p.category, "price_cents": p.price_cents,
            "currency": p.currency, "image_urls": list(p.image_urls),
        }
        for p in items
    ]  # fmt: skip
    for start in range(0, len(rows), _BULK_ROWS):
        statement = insert(products).values(rows[start : start + _BULK_ROWS])
        await tx.execute(
            statement.on_conflict_do_update(
                index_elements=[products.c.sku],
                set_={
                    name: statement.excluded[name]
                    for name in ("gtin", "title", "brand", "category", "price_cents",
                                 "currency", "image_urls")
                }
                | {"updated_at": func.now()},
            )
        )  # fmt: skip


async def lock_stores(tx: Tx, store_ids: Iterable[str]) -> None:
    # Sorted, so two batches naming the same stores cannot deadlock.
    for store_id in sorted(set(store_ids)):
        await tx.execute(
            text("SELECT pg_advisory_xact_lock(:cls, hashtext(:id))"),
            {"cls": _STORE_LOCK_CLASS, "id": store_id},
        )


async def stock_levels(
    tx: Tx, pairs: Iterable[tuple[str, str]], whole_stores: Iterable[str] = ()
) -> dict[tuple[str, str], StockLevel]:
    """Stored counts of the given (store, sku) pairs and of every SKU of `whole_stores`."""
    pairs = list(pairs)
    whole = list(whole_stores)
    levels: dict[tuple[str, str], StockLevel] = {}
    columns = (inventory.c.store_id, inventory.c.sku, inventory.c.quantity, inventory.c.as_of)
    if whole:
        result = await tx.execute(select(*columns).where(inventory.c.store_id.in_(whole)))
        levels.update({(r.store_id, r.sku): StockLevel(r.quantity, r.as_of) for r in result})
    todo = [pair for pair in pairs if pair not in levels]
    for start in range(0, len(todo), _BULK_ROWS):
        chunk = todo[start : start + _BULK_ROWS]
        result = await tx.execute(
            select(*columns).where(tuple_(inventory.c.store_id, inventory.c.sku).in_(chunk))
        )
        levels.update({(r.store_id, r.sku): StockLevel(r.quantity, r.as_of) for r in result})
    return levels


async def save_stock(tx: Tx, changes: Sequence[StockChange]) -> None:
    rows = [
        {"store_id": c.store_id, "sku": c.sku, "quantity": c.quantity, "as_of": c.as_of}
        for c in changes
    ]
    for start in range(0, len(rows), _BULK_ROWS):
        statement = insert(inventory).values(rows[start : start + _BULK_ROWS])
        await tx.execute(
            statement.on_conflict_do_update(
                index_elements=[inventory.c.store_id, inventory.c.sku],
                set_={
                    "quantity": statement.excluded.quantity,
                    "as_of": statement.excluded.as_of,
                    "updated_at": func.now(),
                },
            )
        )


async def store_malls(tx: Tx, store_ids: Iterable[str]) -> dict[str, tuple[str, str]]:
    """store id -> (retailer id, mall id)."""
    result = await tx.execute(
        select(stores.c.id, stores.c.retailer_id, stores.c.mall_id).where(
            stores.c.id.in_(list(store_ids))
        )
    )
    return {row.id: (row.retailer_id, row.mall_id) for row in result}


async def save_capacity(
    tx: Tx, mall_id: str, cell: str | None, rule: CapacityRule, reason: str
) -> None:
    values = {
        "same_day_enabled": rule.same_day_enabled,
        "promise_delay_minutes": rule.promise_delay_minutes,
        "reason": reason,
    }
    statement = insert(zone_capacity).values(mall_id=mall_id, h3_cell=cell or "", **values)
    await tx.execute(
        statement.on_conflict_do_update(
            index_elements=[zone_capacity.c.mall_id, zone_capacity.c.h3_cell],
            set_={**values, "updated_at": func.now()},
        )
    )


async def capacity_rules(tx: Tx) -> list[tuple[str, str | None, CapacityRule]]:
    result = await tx.execute(select(zone_capacity))
    return [
        (
            row.mall_id,
            row.h3_cell or None,
            CapacityRule(row.same_day_enabled, row.promise_delay_minutes),
        )
        for row in result
    ]


async def mall_exists(tx: Tx, mall_id: str) -> bool:
    result = await tx.execute(select(malls.c.id).where(malls.c.id == mall_id))
    return result.first() is not None
