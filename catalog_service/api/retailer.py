"""The retailer API: products and inventory, scoped to the API key's own stores."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import AwareDatetime, BaseModel, Field

from catalog_service import usecases
from catalog_service.api.deps import DbDep, RetailerDep, RuntimeDep
from catalog_service.domain.errors import ProductRejected
from catalog_service.domain.inventory import (
    MAX_BATCH_ROWS,
    BatchMode,
    InventoryRejected,
    InventoryRow,
)
from catalog_service.domain.listings import Product
from catalog_service.domain.tokens import MAX_SKU_LENGTH
from shared.problems import PROBLEM, FieldError, Unprocessable

router = APIRouter(prefix="/v1/retailer", tags=["retailer"])

_SKU = Field(min_length=1, max_length=MAX_SKU_LENGTH, pattern=r"^[A-Za-z0-9._-]+$")
_NOTHING_APPLIED = "Nothing was applied; fix the rows listed in errors and resend the batch."


class ProductRequest(BaseModel):
    sku: str = _SKU
    gtin: str = Field(pattern=r"^\d{8,14}$")
    title: str = Field(min_length=1, max_length=200)
    brand: str = Field(min_length=1, max_length=100)
    category: str = Field(min_length=1, max_length=50)
    price_cents: int = Field(ge=0)
    currency: str = Field("USD", pattern=r"^[A-Z]{3}$")
    image_urls: list[str] = Field(default_factory=list, max_length=10)

    def to_domain(self) -> Product:
        return Product(
            sku=self.sku,
            gtin=self.gtin,
            title=self.title,
            brand=self.brand,
            category=self.category,
            price_cents=self.price_cents,
            currency=self.currency,
            image_urls=tuple(self.image_urls),
        )


class ProductBatchRequest(BaseModel):
    products: list[ProductRequest] = Field(min_length=1, max_length=MAX_BATCH_ROWS)


class ProductBatchView(BaseModel):
    upserted: int


class InventoryRowRequest(BaseModel):
    store_id: str = Field(min_length=1, max_length=100)
    sku: str = _SKU
    quantity: int = Field(description="snapshot: the count; delta: the change")


class InventoryBatchRequest(BaseModel):
    mode: Literal["snapshot", "delta"]
    as_of: AwareDatetime = Field(description="When the counts were taken; older ones are stale")
    rows: list[InventoryRowRequest] = Field(min_length=1, max_length=MAX_BATCH_ROWS)


class InventoryBatchView(BaseModel):
    applied: int
    ignored_stale: int


class RetailerStoreView(BaseModel):
    id: str
    name: str
    mall_id: str
    is_active: bool


@router.put("/products", responses={401: PROBLEM, 422: PROBLEM})
async def upsert_products(
    batch: ProductBatchRequest, retailer_id: RetailerDep, db: DbDep, runtime: RuntimeDep
) -> ProductBatchView:
    items = [p.to_domain() for p in batch.products]
    try:
        async with db.begin() as tx:
            await usecases.upsert_products(tx, retailer_id, items)
    except ProductRejected as rejected:
        raise Unprocessable(
            _NOTHING_APPLIED,
            [FieldError(field=f"products[{i}]", message=m) for i, m in rejected.errors],
            code="bad_rows",
        ) from None
    usecases.show_products(runtime, items)
    return ProductBatchView(upserted=len(items))


@router.post("/inventory", responses={401: PROBLEM, 422: PROBLEM})
async def post_inventory(
    batch: InventoryBatchRequest, retailer_id: RetailerDep, db: DbDep
) -> InventoryBatchView:
    rows = [InventoryRow(r.store_id, r.sku, r.quantity) for r in batch.rows]
    try:
        async with db.begin() as tx:
            result = await usecases.post_inventory(
                tx, retailer_id, BatchMode(batch.mode), batch.as_of, rows
            )
    except InventoryRejected as rejected:
        raise Unprocessable(
            _NOTHING_APPLIED,
            [FieldError(field=f"rows[{e.index}]", message=e.message) for e in rejected.errors],
            code="bad_rows",
        ) from None
    return InventoryBatchView(applied=result.applied, ignored_stale=result.ignored_stale)


@router.get("/stores", responses={401: PROBLEM})
async def list_own_stores(retailer_id: RetailerDep, db: DbDep) -> list[RetailerStoreView]:
    async with db.begin() as tx:
        found = await usecases.stores_of(tx, retailer_id)
    return [
        RetailerStoreView(id=s.id, name=s.name, mall_id=s.mall_id, is_active=s.is_active)
        for s in found
    ]
