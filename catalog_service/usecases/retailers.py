"""A retailer's API key and its products."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from catalog_service.domain.errors import ProductRejected
from catalog_service.domain.listings import Product
from catalog_service.store import catalog
from catalog_service.usecases.runtime import CatalogRuntime
from shared.db import Tx


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
