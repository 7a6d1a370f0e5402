"""The customer-facing same-day catalog. Nothing here may name or hint at a store or mall."""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import parse_qsl

import orjson
from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Receive, Scope, Send

from catalog_service import usecases
from catalog_service.api.deps import RuntimeDep, limit_same_day
from catalog_service.domain.listings import Product, SameDayPage, SameDayQuery
from catalog_service.domain.tokens import BadToken
from catalog_service.usecases import CatalogRuntime
from shared.clock import now
from shared.geo import Point
from shared.metrics import RouteLabel
from shared.problems import PROBLEM, ProblemError

router = APIRouter(prefix="/v1/catalog", tags=["catalog"])

MAX_LAT, MAX_LNG = 90, 180
MAX_TEXT, MAX_CATEGORY, MAX_CURSOR = 100, 50, 400
DEFAULT_LIMIT, MAX_LIMIT = 20, 100

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
        float,
        Query(ge=-MAX_LAT, le=MAX_LAT, description="Latitude of the address", examples=[36.1699]),
    ],
    lng: Annotated[
        float,
        Query(
            ge=-MAX_LNG, le=MAX_LNG, description="Longitude of the address", examples=[-115.1398]
        ),
    ],
    q: Annotated[
        str | None,
        Query(max_length=MAX_TEXT, description="Words to look for", examples=["tee"]),
    ] = None,
    category: Annotated[str | None, Query(max_length=MAX_CATEGORY, examples=["apparel"])] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, examples=[20])] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None, Query(max_length=MAX_CURSOR, examples=["c2FtZS1kYXktY3Vyc29yLWV4YW1wbGU"])
    ] = None,
) -> Response:
    """Serves what the fast path (`SameDayFastPath`) passed on: it serves every valid query
    itself, so here FastAPI validates and answers the rest with the usual problems."""
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


SAME_DAY_PATH = "/v1/catalog/same-day"
_NUMBER = re.compile(r"-?\d{1,3}(\.\d{1,15})?")
_LIMIT = re.compile(r"\d{1,3}")
_JSON_HEADERS = [(b"content-type", b"application/json")]
_PARAMETERS = frozenset(("lat", "lng", "q", "category", "limit", "cursor"))


def parse_same_day(query_string: bytes, runtime: CatalogRuntime) -> SameDayQuery | None:
    """The query when every parameter is plainly valid, else None (FastAPI then answers).

    Accepts a subset of what the route's declaration accepts, never more: plain decimals in
    range, each parameter at most once, text within its length, a cursor that verifies.
    """
    values: dict[str, str] = {}
    for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if name in values or name not in _PARAMETERS or not value:
            return None
        values[name] = value
    lat_text, lng_text = values.get("lat"), values.get("lng")
    if lat_text is None or lng_text is None:
        return None
    if not (_NUMBER.fullmatch(lat_text) and _NUMBER.fullmatch(lng_text)):
        return None
    lat, lng = float(lat_text), float(lng_text)
    if not (-MAX_LAT <= lat <= MAX_LAT and -MAX_LNG <= lng <= MAX_LNG):
        return None
    limit = DEFAULT_LIMIT
    if "limit" in values:
        if not _LIMIT.fullmatch(values["limit"]):
            return None
        limit = int(values["limit"])
        if not 1 <= limit <= MAX_LIMIT:
            return None
    text, category = values.get("q"), values.get("category")
    if (text is not None and len(text) > MAX_TEXT) or (
        category is not None and len(category) > MAX_CATEGORY
    ):
        return None
    after = None
    cursor = values.get("cursor")
    if cursor is not None:
        if len(cursor) > MAX_CURSOR:
            return None
        try:
            after = runtime.cursors.decode(cursor)
        except BadToken:
            return None
    return SameDayQuery(Point(lat, lng), text, category, after, limit)


_SAME_DAY_ROUTE = RouteLabel(SAME_DAY_PATH)


class SameDayFastPath:
    """Serves valid same-day queries without FastAPI's routing and parameter machinery.

    The query is the busiest request a storefront makes, and FastAPI's per-request work (route
    matching, dependencies, validating six parameters) cost more than the query itself. Anything
    this does not accept goes on to the declared route, which validates it and answers with the
    usual problem, so the documented behaviour has one source.
    """

    def __init__(self, app: ASGIApp, runtime: CatalogRuntime) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["path"] == SAME_DAY_PATH
            and scope["method"] == "GET"
            and self.runtime.ready.is_set()
        ):
            query = parse_same_day(scope["query_string"], self.runtime)
            # A caller past its rate goes on to the route, which answers 429 with Retry-After.
            if query is not None and _within_rate(scope):
                # The metrics label the request with its route, as if routing had found it.
                scope["route"] = _SAME_DAY_ROUTE
                body = render_same_day(self.runtime, usecases.same_day(self.runtime, query, now()))
                await send(
                    {
                        "type": "http.response.start",
                        "status": 200,
                        "headers": [
                            *_JSON_HEADERS,
                            (b"content-length", str(len(body)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def _within_rate(scope: Scope) -> bool:
    client = scope.get("client")
    caller = client[0] if client else "unknown"
    within: bool = scope["app"].state.rate_limits.hit("same_day", caller)
    return within


def product_fragment(product: Product) -> bytes:
    """A listing's fields that only change with the product, as JSON object members (no braces).

    Kept in the read model per product, so a page is put together from bytes: only the offer id,
    the stock status and the promise are rendered per request.
    """
    return orjson.dumps(
        {
            "sku": product.sku,
            "gtin": product.gtin,
            "title": product.title,
            "brand": product.brand,
            "category": product.category,
            "price_cents": product.price_cents,
            "currency": product.currency,
            "image_urls": list(product.image_urls),
        }
    )[1:-1]


def render_same_day(runtime: CatalogRuntime, page: SameDayPage) -> bytes:
    """The response body (the one rendering of a same-day page), in the order of `ListingView`."""
    threshold = runtime.settings.low_stock_threshold
    # Every listing from one mall shares its promise: render its tail once per page.
    tails: dict[int, tuple[bytes, bytes]] = {}
    days: dict[int, date] = {}
    items = []
    for listing in page.items:
        product, promise = listing.product, listing.promise
        tail = tails.get(id(promise))
        if tail is None:
            timing = (
                b',"deliver_by":'
                + orjson.dumps(promise.deliver_by.isoformat())
                + b',"promise":'
                + orjson.dumps(promise.human)
                + b"}"
            )
            # Offer ids are good on the day they were listed, whatever day the window is.
            days[id(promise)] = promise.day
            tail = tails[id(promise)] = (
                b',"stock_status":"' + StockStatus.IN_STOCK.value.encode() + b'"' + timing,
                b',"stock_status":"' + StockStatus.LOW.value.encode() + b'"' + timing,
            )
        items.append(
            b'{"offer_id":"'
            + runtime.offer_id_bytes(product.sku, promise.mall_id, page.cell, days[id(promise)])
            + b'",'
            + runtime.model.fragment(product, product_fragment)
            + tail[listing.quantity <= threshold]
        )
    cursor = b"null" if page.last_key is None else runtime.cursor(page.last_key)
    reason = None if page.reason is None else page.reason.value
    return b"".join(
        (
            b'{"items":[',
            b",".join(items),
            b'],"next_cursor":',
            cursor,
            b',"reason":',
            orjson.dumps(reason),
            b"}",
        )
    )
