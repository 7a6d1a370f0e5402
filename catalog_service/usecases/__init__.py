"""Catalog use cases: load, decide, save + outbox. Called by api/ and events/. One module per
use case; callers use `usecases.<name>`, so each is re-exported here.
"""

from catalog_service.usecases.inventory import (
    InventoryResult,
    apply_inventory_changed,
    apply_zone_capacity,
    post_inventory,
)
from catalog_service.usecases.malls_and_stores import (
    Directory,
    directory,
    ensure_malls,
    pilot_mall_rows,
    store_upserted,
    stores_of,
)
from catalog_service.usecases.offers import ResolvedOffer, resolve_offer
from catalog_service.usecases.retailers import (
    hash_api_key,
    retailer_for_key,
    show_products,
    upsert_products,
)
from catalog_service.usecases.runtime import OFFER_ID_CACHE_SIZE, CatalogRuntime, same_day
from catalog_service.usecases.seeding import SeedResult, save_seed

__all__ = [
    "OFFER_ID_CACHE_SIZE",
    "CatalogRuntime",
    "Directory",
    "InventoryResult",
    "ResolvedOffer",
    "SeedResult",
    "apply_inventory_changed",
    "apply_zone_capacity",
    "directory",
    "ensure_malls",
    "hash_api_key",
    "pilot_mall_rows",
    "post_inventory",
    "resolve_offer",
    "retailer_for_key",
    "same_day",
    "save_seed",
    "show_products",
    "store_upserted",
    "stores_of",
    "upsert_products",
]
