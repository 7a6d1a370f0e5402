"""The retailer API: products and inventory, scoped to the API key's own stores."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from catalog_service import usecases
from catalog_service.api.deps import RetailerDep, RuntimeDep
from catalog_service.domain.errors import ProductRejected
from catalog_service.domain.inventory import (
    MAX_BATCH_ROWS,
    MAX_QUANTITY,
    BatchMode,
    InventoryRejected,
    InventoryRow,
)
from catalog_service.domain.listings import Product
from catalog_service.domain.tokens import MAX_SKU_LENGTH
from shared.api import DbDep
from shared.problems import PROBLEM, FieldError, Unprocessable
from shared.text import ID_PATTERN, RequestModel

router = APIRouter(prefix="/v1/retailer", tags=["retailer"])

_SKU = Field(min_length=1, max_length=MAX_SKU_LENGTH, pattern=r"^[A-Za-z0-9._-]+$")
_NOTHING_APPLIED = "Nothing was applied; fix the rows listed in errors and resend the batch."
# $1,000,000: far above any mall item, far below the 32-bit column's limit.
MAX_PRICE_CENTS = 100_000_000


class ProductRequest(RequestModel):
    sku: str = _SKU
    gtin: str = Field(pattern=r"^\d{8,14}$")
    title: str = Field(min_length=1, max_length=200)
    brand: str = Field(min_length=1, max_length=100)
    category: str = Field(min_length=1, max_length=50)
    price_cents: int = Field(ge=0, le=MAX_PRICE_CENTS)
    currency: str = Field("USD", pattern=r"^[A-Z]{3}$")
    image_urls: list[Annotated[str, Field(max_length=2000)]] = Field(
        default_factory=list, max_length=10
    )

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


class ProductBatchRequest(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "products": [
                        {
                            "sku": "TEE-CREW-BLK-M",
                            "gtin": "00012345678905",
                            "title": "Cotton crew-neck tee, black, M",
                            "brand": "Brisa",
                            "category": "apparel",
                            "price_cents": 2499,
                            "currency": "USD",
                            "image_urls": [
                                "https://images.mall-to-home.example/products/TEE-CREW-BLK-M/1.jpg"
                            ],
                        }
                    ]
                }
            ]
        }
    )

    products: list[ProductRequest] = Field(min_length=1, max_length=MAX_BATCH_ROWS)


class ProductBatchView(BaseModel):
    upserted: int


class InventoryRowRequest(RequestModel):
    store_id: str = Field(min_length=1, max_length=100, pattern=ID_PATTERN)
    sku: str = _SKU
    quantity: int = Field(
        ge=-MAX_QUANTITY,
        le=MAX_QUANTITY,
        description="snapshot: the count; delta: the change",
    )


class InventoryBatchRequest(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "mode": "snapshot",
                    "as_of": "2026-11-25T17:00:00Z",
                    "rows": [
                        {"store_id": "store-0a1b2c3d4e5f", "sku": "TEE-CREW-BLK-M", "quantity": 12},
                        {"store_id": "store-0a1b2c3d4e5f", "sku": "HOODIE-GRY-L", "quantity": 0},
                    ],
                },
                {
                    "mode": "delta",
                    "as_of": "2026-11-25T17:05:00Z",
                    "rows": [
                        {"store_id": "store-0a1b2c3d4e5f", "sku": "TEE-CREW-BLK-M", "quantity": -1}
                    ],
                },
            ]
        }
    )

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


def _ok(example: Any) -> dict[str, Any]:
    return {"content": {"application/json": {"example": example}}}


# The store in these examples is fictional: this document is served next to the customer API.
@router.put("/products", responses={200: _ok({"upserted": 1}), 401: PROBLEM, 422: PROBLEM})
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


@router.post(
    "/inventory",
    responses={200: _ok({"applied": 2, "ignored_stale": 0}), 401: PROBLEM, 422: PROBLEM},
)
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


@router.get(
    "/stores",
    responses={
        200: _ok(
            [
                {
                    "id": "store-0a1b2c3d4e5f",
                    "name": "Northwind Apparel at Sample Galleria",
                    "mall_id": "sample-galleria",
                    "is_active": True,
                }
            ]
        ),
        401: PROBLEM,
    },
)
async def list_own_stores(retailer_id: RetailerDep, db: DbDep) -> list[RetailerStoreView]:
    async with db.begin() as tx:
        found = await usecases.stores_of(tx, retailer_id)
    return [
        RetailerStoreView(id=s.id, name=s.name, mall_id=s.mall_id, is_active=s.is_active)
        for s in found
    ]
