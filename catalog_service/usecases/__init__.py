"""Catalog use cases: load, decide, save + outbox. Called by api/ and events/. One module per
use case; callers use `usecases.<name>`, so each is re-exported here.
"""

from catalog_service.usecases.inventory import InventoryResult as InventoryResult
from catalog_service.usecases.inventory import apply_inventory_changed as apply_inventory_changed
from catalog_service.usecases.inventory import apply_zone_capacity as apply_zone_capacity
from catalog_service.usecases.inventory import post_inventory as post_inventory
from catalog_service.usecases.malls_and_stores import Directory as Directory
from catalog_service.usecases.malls_and_stores import directory as directory
from catalog_service.usecases.malls_and_stores import ensure_malls as ensure_malls
from catalog_service.usecases.malls_and_stores import pilot_mall_rows as pilot_mall_rows
from catalog_service.usecases.malls_and_stores import store_upserted as store_upserted
from catalog_service.usecases.malls_and_stores import stores_of as stores_of
from catalog_service.usecases.offers import ResolvedOffer as ResolvedOffer
from catalog_service.usecases.offers import resolve_offer as resolve_offer
from catalog_service.usecases.retailers import hash_api_key as hash_api_key
from catalog_service.usecases.retailers import retailer_for_key as retailer_for_key
from catalog_service.usecases.retailers import show_products as show_products
from catalog_service.usecases.retailers import upsert_products as upsert_products
from catalog_service.usecases.runtime import OFFER_ID_CACHE_SIZE as OFFER_ID_CACHE_SIZE
from catalog_service.usecases.runtime import CatalogRuntime as CatalogRuntime
from catalog_service.usecases.runtime import same_day as same_day
from catalog_service.usecases.seeding import SeedResult as SeedResult
from catalog_service.usecases.seeding import save_seed as save_seed

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
