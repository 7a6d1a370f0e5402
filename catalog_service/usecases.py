"""Catalog use cases: load, decide, save + outbox. Called by api/ and events/."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import orjson

from catalog_service.domain.coverage import center_of, is_valid_cell
from catalog_service.domain.errors import ProductRejected, UnknownOffer
from catalog_service.domain.inventory import (
    BatchMode,
    InventoryRejected,
    InventoryRow,
    check_rows,
    plan_batch,
)
from catalog_service.domain.listings import (
    CatalogReadModel,
    Fragment,
    Product,
    SameDayPage,
    SameDayQuery,
)
from catalog_service.domain.promise import (
    CapacityRule,
    NoPromise,
    Promise,
    Window,
    is_within_area,
    windows_for,
)
from catalog_service.domain.seed import SeedCatalog
from catalog_service.domain.tokens import BadToken, CursorCodec, OfferCodec, OfferRef
from catalog_service.settings import CatalogSettings
from catalog_service.store import catalog
from catalog_service.store.catalog import MallRow, StockedStore, StoreRow
from catalog_service.store.tables import inventory, products, retailers, stores
from shared import outbox
from shared.db import Db, Tx
from shared.events.catalog import InventoryChanged, StoreUpserted
from shared.events.common import GeoPoint
from shared.events.dispatch import ZoneCapacityChanged
from shared.geo import Point
from shared.malls import pilot_malls

log = logging.getLogger(__name__)

OFFER_ID_CACHE_SIZE = 200_000


class CatalogRuntime:
    """What the API and the consumers share in one process: the read model and the codecs."""

    def __init__(self, settings: CatalogSettings, fragment: Fragment | None = None) -> None:
        self.settings = settings
        self.offers = OfferCodec(settings.token_secret)
        self.cursors = CursorCodec(settings.token_secret)
        self.fragment = fragment
        self.model = CatalogReadModel([], settings.h3_resolution, fragment=fragment)
        self.ready = asyncio.Event()
        # Keyed by (sku, mall, cell, day): a plain tuple hashes and compares in C.
        self._offer_ids: dict[tuple[str, str, str, date], bytes] = {}
        self._cursors: dict[tuple[str, str], bytes] = {}

    def offer_id_bytes(self, sku: str, mall_id: str, cell: str, day: date) -> bytes:
        # Offer ids are deterministic, so caching them is safe; encryption costs a third of a
        # same-day response, and popular cells repeat.
        key = (sku, mall_id, cell, day)
        found = self._offer_ids.get(key)
        if found is None:
            if len(self._offer_ids) >= OFFER_ID_CACHE_SIZE:
                self._offer_ids.clear()
            found = self._offer_ids[key] = self.offers.encode(OfferRef(*key)).encode()
        return found

    def cursor(self, last_key: tuple[str, str]) -> bytes:
        # Deterministic too, and each page's last key recurs for every customer near it.
        found = self._cursors.get(last_key)
        if found is None:
            if len(self._cursors) >= OFFER_ID_CACHE_SIZE:
                self._cursors.clear()
            found = self._cursors[last_key] = orjson.dumps(self.cursors.encode(last_key))
        return found

    def offer_id(self, ref: OfferRef) -> str:
        return self.offer_id_bytes(ref.sku, ref.mall_id, ref.cell, ref.day).decode()

    async def load(self, db: Db) -> None:
        """Builds the read model from the database.

        Consumers may apply events meanwhile: they write into the same model, and a count never
        replaces a newer one, so the snapshot and the events agree whatever their order.
        """
        async with db.begin() as tx:
            self.model = CatalogReadModel(
                await catalog.mall_rules(tx), self.settings.h3_resolution, fragment=self.fragment
            )
            self.ready.set()
            for mall_id, cell, rule in await catalog.capacity_rules(tx):
                self.model.set_capacity(mall_id, cell, rule)
            for store in await catalog.all_stores(tx):
                self.model.set_store(store.id, store.mall_id, is_active=store.is_active)
            async for product in catalog.stream_products(tx):
                self.model.upsert_product(product)
            rows = 0
            async for store_id, mall_id, sku, quantity, as_of in catalog.stream_stock(tx):
                self.model.apply_stock(store_id, mall_id, sku, quantity, as_of)
                rows += 1
        log.info("read_model_loaded", extra={"stock_rows": rows})


def pilot_mall_rows(settings: CatalogSettings) -> list[dict[str, object]]:
    return [
        {
            "id": mall.id,
            "name": mall.name,
            "address": mall.address,
            "lat": mall.lat,
            "lng": mall.lng,
            "timezone": mall.timezone,
            "hours": {
                day: [opens.isoformat("minutes"), closes.isoformat("minutes")]
                for day, (opens, closes) in mall.hours.items()
            },
            "delivery_radius_m": settings.default_delivery_radius_m,
            "road_factor": settings.default_road_factor,
            "average_speed_kmh": settings.default_average_speed_kmh,
            "cutoff_minutes_before_close": settings.default_cutoff_minutes_before_close,
            "prep_minutes": settings.default_prep_minutes,
        }
        for mall in pilot_malls()
    ]


async def ensure_malls(tx: Tx, settings: CatalogSettings) -> None:
    """Adds the pilot malls with default settings; a mall already there keeps its own."""
    await catalog.insert_malls_if_missing(tx, pilot_mall_rows(settings))


def same_day(runtime: CatalogRuntime, query: SameDayQuery, now: datetime) -> SameDayPage:
    return runtime.model.query(query, now)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def retailer_for_key(tx: Tx, key: str) -> str | None:
    return await catalog.retailer_for_key(tx, hash_api_key(key))


async def upsert_products(tx: Tx, retailer_id: str, items: Sequence[Product]) -> None:
    owners = await catalog.product_owners(tx, [p.sku for p in items])
    errors: list[tuple[int, str]] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        if owners.get(item.sku, retailer_id) != retailer_id:
            errors.append((index, "SKU belongs to another retailer; choose another SKU"))
        if item.sku in seen:
            errors.append((index, "duplicate SKU in this batch"))
        seen.add(item.sku)
    if errors:
        raise ProductRejected(errors)
    await catalog.upsert_products(tx, retailer_id, items)


def show_products(runtime: CatalogRuntime, items: Sequence[Product]) -> None:
    """After the commit: products change in this process's read model right away."""
    for item in items:
        runtime.model.upsert_product(item)


@dataclass(frozen=True, slots=True)
class InventoryResult:
    applied: int
    ignored_stale: int


async def post_inventory(
    tx: Tx, retailer_id: str, mode: BatchMode, as_of: datetime, rows: list[InventoryRow]
) -> InventoryResult:
    own_stores = await catalog.store_ids_of(tx, retailer_id)
    owners = await catalog.product_owners(tx, {row.sku for row in rows})
    errors = check_rows(rows, mode, own_stores, owners.keys())
    if errors:
        raise InventoryRejected(errors)
    named_stores = {row.store_id for row in rows}
    await catalog.lock_stores(tx, named_stores)
    stored = await catalog.stock_levels(
        tx,
        [(row.store_id, row.sku) for row in rows],
        whole_stores=named_stores if mode is BatchMode.SNAPSHOT else (),
    )
    plan = plan_batch(rows, mode, as_of, stored)
    await catalog.save_stock(tx, plan.changes)
    placement = await catalog.store_malls(tx, named_stores)
    await outbox.add_many(
        tx,
        [
            (
                InventoryChanged(
                    store_id=change.store_id,
                    retailer_id=placement[change.store_id][0],
                    mall_id=placement[change.store_id][1],
                    sku=change.sku,
                    quantity=change.quantity,
                    as_of=change.as_of,
                ),
                change.store_id,
            )
            for change in plan.changes
        ],
    )
    return InventoryResult(len(plan.changes), plan.ignored_stale)


async def apply_inventory_changed(runtime: CatalogRuntime, event: InventoryChanged) -> None:
    await runtime.ready.wait()
    runtime.model.apply_stock(event.store_id, event.mall_id, event.sku, event.quantity, event.as_of)


async def apply_zone_capacity(tx: Tx, runtime: CatalogRuntime, event: ZoneCapacityChanged) -> None:
    await runtime.ready.wait()
    if not await catalog.mall_exists(tx, event.mall_id):
        log.warning("capacity_for_unknown_mall", extra={"mall_id": event.mall_id})
        return
    rule = CapacityRule(event.same_day_enabled, event.promise_delay_minutes)
    cells: list[str | None] = [c for c in event.h3_cells if is_valid_cell(c)] or [None]
    if event.h3_cells and cells == [None]:
        log.warning("capacity_without_valid_cells", extra={"mall_id": event.mall_id})
        return
    for cell in cells:
        await catalog.save_capacity(tx, event.mall_id, cell, rule, event.reason)
    # Memory changes only once the row is saved; a retried event sets the same values again.
    for cell in cells:
        runtime.model.set_capacity(event.mall_id, cell, rule)


@dataclass(frozen=True, slots=True)
class ResolvedOffer:
    offer_id: str
    product: Product
    mall: MallRow
    promise: Promise
    stores: list[StockedStore]
    # The mall's delivery area, so checkout can refuse an address outside it.
    area_center: Point
    area_radius_m: int
    # Every window the mall has for the point, earliest first; the promise ends the first.
    windows: list[Window]


async def resolve_offer(
    tx: Tx, runtime: CatalogRuntime, offer_id: str, now: datetime, point: Point | None = None
) -> ResolvedOffer:
    """The offer's product, its mall's windows for `point` (else its cell's centre) and the
    stores that stock it. Good on the day it was listed only."""
    try:
        ref = runtime.offers.decode(offer_id)
    except BadToken as error:
        raise UnknownOffer() from error
    rules = runtime.model.malls.get(ref.mall_id)
    if rules is None or now.astimezone(rules.zone).date() != ref.day:
        raise UnknownOffer()
    where = center_of(ref.cell)
    if point is not None and is_within_area(rules, point):
        where = point
    capacity = runtime.model.capacity_rule(ref.mall_id, where)
    windows = windows_for(rules, where, now, capacity)
    product = await catalog.product(tx, ref.sku)
    if isinstance(windows, NoPromise) or product is None:
        raise UnknownOffer()
    first = windows[0]
    promise = Promise(ref.mall_id, first.ends_at, ref.day, first)
    mall = next(m for m in await catalog.mall_rows(tx) if m.id == ref.mall_id)
    return ResolvedOffer(
        offer_id,
        product,
        mall,
        promise,
        await catalog.stocked_stores(tx, ref.mall_id, ref.sku),
        rules.point,
        rules.delivery_radius_m,
        windows,
    )


@dataclass(frozen=True, slots=True)
class Directory:
    malls: list[MallRow]
    stores: list[StoreRow]


async def directory(tx: Tx) -> Directory:
    return Directory(await catalog.mall_rows(tx), await catalog.all_stores(tx))


def store_upserted(store: StoreRow) -> StoreUpserted:
    return StoreUpserted(
        store_id=store.id,
        retailer_id=store.retailer_id,
        retailer_name=store.retailer_name,
        mall_id=store.mall_id,
        mall_name=store.mall_name,
        name=store.name,
        location=GeoPoint(lat=store.lat, lng=store.lng),
        timezone=store.timezone,
        pickup_instructions=store.pickup_instructions,
        prep_minutes=store.prep_minutes,
        is_active=store.is_active,
    )


@dataclass(frozen=True, slots=True)
class SeedResult:
    stores: int
    products: int
    stock_rows: int
    inventory_events: int


async def save_seed(
    tx: Tx,
    seed: SeedCatalog,
    api_keys: dict[str, str],
    as_of: datetime,
    max_inventory_events: int,
) -> SeedResult:
    """Writes a generated catalog in bulk and announces it through the outbox.

    Every store is announced; stock rows only up to `max_inventory_events`, since the order
    service also learns quantities when it resolves an offer.
    """
    await catalog.bulk_insert(
        tx,
        retailers,
        [
            {"id": r.id, "name": r.name, "api_key_sha256": hash_api_key(api_keys[r.id])}
            for r in seed.retailers
        ],
    )
    await catalog.bulk_insert(
        tx,
        stores,
        [
            {
                "id": s.id, "retailer_id": s.retailer_id, "mall_id": s.mall_id, "name": s.name,
                "address": s.address, "phone": s.phone, "lat": s.lat, "lng": s.lng,
                "prep_minutes": s.prep_minutes, "pickup_instructions": s.pickup_instructions,
            }
            for s in seed.stores
        ],
    )  # fmt: skip
    await catalog.bulk_insert(
        tx,
        products,
        [
            {
                "sku": p.sku, "retailer_id": p.retailer_id, "gtin": p.gtin, "title": p.title,
                "brand": p.brand, "category": p.category, "price_cents": p.price_cents,
                "currency": p.currency, "image_urls": list(p.image_urls),
            }
            for p in seed.products
        ],
    )  # fmt: skip
    await catalog.bulk_insert(
        tx,
        inventory,
        [
            {"store_id": s.store_id, "sku": s.sku, "quantity": s.quantity, "as_of": as_of}
            for s in seed.stock
        ],
    )
    placed = {store.id: store for store in await catalog.all_stores(tx)}
    await outbox.add_many(
        tx, [(store_upserted(placed[seeded.id]), seeded.id) for seeded in seed.stores]
    )
    events = 0
    if len(seed.stock) <= max_inventory_events:
        inventory_events = [
            (
                InventoryChanged(
                    store_id=placed[stock.store_id].id,
                    retailer_id=placed[stock.store_id].retailer_id,
                    mall_id=placed[stock.store_id].mall_id,
                    sku=stock.sku,
                    quantity=stock.quantity,
                    as_of=as_of,
                ),
                stock.store_id,
            )
            for stock in seed.stock
        ]
        await outbox.add_many(tx, inventory_events)
        events = len(inventory_events)
    return SeedResult(len(seed.stores), len(seed.products), len(seed.stock), events)


async def stores_of(tx: Tx, retailer_id: str) -> list[StoreRow]:
    return [s for s in await catalog.all_stores(tx) if s.retailer_id == retailer_id]
