"""The customer-facing same-day catalog. Nothing here may name or hint at a store or mall."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from catalog_service import usecases
from catalog_service.api.deps import RuntimeDep, limit_same_day
from catalog_service.domain.listings import Listing, SameDayPage, SameDayQuery
from catalog_service.domain.tokens import BadToken, OfferRef
from catalog_service.usecases import CatalogRuntime
from shared.clock import now
from shared.geo import Point
from shared.problems import PROBLEM, ProblemError

router = APIRouter(prefix="/v1/catalog", tags=["catalog"])

# Customer-facing: the example must stay as anonymous as the real response.
SAME_DAY_EXAMPLE: dict[str, Any] = {
    "items": [
        {
            "offer_id": "q3ZkTj9xW1bYc2VhLWV4YW1wbGUtb2ZmZXItMDE",
            "sku": "TEE-CREW-BLK-M",
            "gtin": "00012345678905",
            "title": "Cotton crew-neck tee, black, M",
            "brand": "Brisa",
            "category": "apparel",
            "price_cents": 2499,
            "currency": "USD",
            "image_urls": ["https://images.mall-to-home.example/products/TEE-CREW-BLK-M/1.jpg"],
            "stock_status": "in_stock",
            "deliver_by": "2026-11-25T20:30:00-08:00",
            "promise": "Arrives today by 8:30 PM",
        }
    ],
    "next_cursor": "c2FtZS1kYXktY3Vyc29yLWV4YW1wbGU",
    "reason": None,
}


class StockStatus(StrEnum):
    IN_STOCK = "in_stock"
    LOW = "low"


class ListingView(BaseModel):
    offer_id: str = Field(description="Opaque; pass it to checkout. Valid for today only.")
    sku: str
    gtin: str
    title: str
    brand: str
    category: str
    price_cents: int
    currency: str
    image_urls: list[str]
    stock_status: StockStatus
    deliver_by: datetime = Field(description="Local time at the address, with its offset.")
    promise: str = Field(description='For people, e.g. "Arrives today by 8:30 PM".')


class SameDayView(BaseModel):
    items: list[ListingView]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")
    reason: str | None = Field(description="Why there are no items, when there are none.")


@router.get(
    "/same-day",
    summary="Items that can be delivered to a point today",
    response_model=SameDayView,
    responses={
        200: {"content": {"application/json": {"example": SAME_DAY_EXAMPLE}}},
        400: PROBLEM,
        422: PROBLEM,
        429: PROBLEM,
    },
    dependencies=[Depends(limit_same_day)],
)
async def same_day(
    runtime: RuntimeDep,
    lat: Annotated[
        float, Query(ge=-90, le=90, description="Latitude of the address", examples=[36.1699])
    ],
    lng: Annotated[
        float,
        Query(ge=-180, le=180, description="Longitude of the address", examples=[-115.1398]),
    ],
    q: Annotated[
        str | None, Query(max_length=100, description="Words to look for", examples=["tee"])
    ] = None,
    category: Annotated[str | None, Query(max_length=50, examples=["apparel"])] = None,
    limit: Annotated[int, Query(ge=1, le=100, examples=[20])] = 20,
    cursor: Annotated[
        str | None, Query(max_length=400, examples=["c2FtZS1kYXktY3Vyc29yLWV4YW1wbGU"])
    ] = None,
) -> Response:
    after = None
    if cursor is not None:
        try:
            after = runtime.cursors.decode(cursor)
        except BadToken:
            raise ProblemError(
                400, "bad_cursor", "This cursor is not valid; start again without it."
            ) from None
    query = SameDayQuery(Point(lat, lng), q, category, after, limit)
    page = usecases.same_day(runtime, query, now())
    return Response(render_same_day(runtime, page), media_type="application/json")


def render_same_day(runtime: CatalogRuntime, page: SameDayPage) -> bytes:
    """The response body, field by field: the one rendering of a same-day page."""
    # Every listing from one mall shares its promise: format it once per page.
    promises: dict[int, tuple[str, str]] = {}
    for listing in page.items:
        promise = listing.promise
        if id(promise) not in promises:
            promises[id(promise)] = (promise.deliver_by.isoformat(), promise.human)
    body: dict[str, Any] = {
        "items": [
            listing_view(runtime, page.cell, listing, promises[id(listing.promise)])
            for listing in page.items
        ],
        "next_cursor": None if page.last_key is None else runtime.cursors.encode(page.last_key),
        "reason": None if page.reason is None else page.reason.value,
    }
    return orjson.dumps(body)


def listing_view(
    runtime: CatalogRuntime, cell: str, listing: Listing, promise_text: tuple[str, str]
) -> dict[str, Any]:
    product, promise = listing.product, listing.promise
    offer = OfferRef(product.sku, promise.mall_id, cell, promise.deliver_by.date())
    low = listing.quantity <= runtime.settings.low_stock_threshold
    return {
        "offer_id": runtime.offer_id(offer),
        "sku": product.sku,
        "gtin": product.gtin,
        "title": product.title,
        "brand": product.brand,
        "category": product.category,
        "price_cents": product.price_cents,
        "currency": product.currency,
        "image_urls": list(product.image_urls),
        "stock_status": (StockStatus.LOW if low else StockStatus.IN_STOCK).value,
        "deliver_by": promise_text[0],
        "promise": promise_text[1],
    }
