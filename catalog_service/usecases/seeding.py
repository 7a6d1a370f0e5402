"""Saving a generated seed catalog (stores, products, stock) with its events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from catalog_service.domain.seed import SeedCatalog
from catalog_service.store import catalog
from catalog_service.store.tables import inventory, products, retailers, stores
from catalog_service.usecases.malls_and_stores import store_upserted
from catalog_service.usecases.retailers import hash_api_key
from shared import outbox
from shared.db import Tx
from shared.events.catalog import InventoryChanged


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
