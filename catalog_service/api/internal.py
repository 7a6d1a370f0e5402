"""Internal endpoints for the other services and the end-to-end tests. They name stores, so
each request must carry the catalog's internal token."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel

from catalog_service import usecases
from catalog_service.api.deps import RuntimeDep, require_internal_token
from catalog_service.domain.errors import UnknownOffer
from catalog_service.domain.promise import WindowKind
from catalog_service.store.catalog import MallRow, StoreRow
from catalog_service.usecases import ResolvedOffer
from shared.api import DbDep
from shared.clock import now
from shared.geo import Point
from shared.problems import PROBLEM, NotFound

router = APIRouter(
    prefix="/v1",
    tags=["internal"],
    dependencies=[Depends(require_internal_token)],
    responses={401: PROBLEM},
)

# This document is served next to the customer API and scanned for real store and mall
# identifiers: internal examples name a fictional mall and store.
_MALL_EXAMPLE: dict[str, Any] = {
    "id": "sample-galleria",
    "name": "Sample Galleria",
    "address": "100 Example Pkwy, Springfield, IL 62701",
    "lat": 39.7817,
    "lng": -89.6501,
    "timezone": "America/Chicago",
}
_STORE_EXAMPLE: dict[str, Any] = {
    "id": "store-0a1b2c3d4e5f",
    "retailer_id": "ret-northwind",
    "retailer_name": "Northwind Apparel",
    "mall_id": "sample-galleria",
    "name": "Northwind Apparel at Sample Galleria",
    "address": "Unit 120, 100 Example Pkwy, Springfield, IL 62701",
    "phone": "(555) 010-0199",
    "lat": 39.7821,
    "lng": -89.6496,
    "prep_minutes": 15,
    "pickup_instructions": "Pickup desk by the east doors; show the order label.",
    "is_active": True,
}
DIRECTORY_EXAMPLE: dict[str, Any] = {"malls": [_MALL_EXAMPLE], "stores": [_STORE_EXAMPLE]}
OFFER_EXAMPLE: dict[str, Any] = {
    "offer_id": "q3ZkTj9xW1bYc2VhLWV4YW1wbGUtb2ZmZXItMDE",
    "sku": "TEE-CREW-BLK-M",
    "title": "Cotton crew-neck tee, black, M",
    "price_cents": 2499,
    "currency": "USD",
    "deliver_by": "2026-11-25T20:30:00-06:00",
    "windows": [
        {
            "kind": "asap",
            "starts_at": "2026-11-25T19:42:00-06:00",
            "ends_at": "2026-11-25T20:30:00-06:00",
            "label": "by 8:30 PM",
        },
        {
            "kind": "scheduled",
            "starts_at": "2026-11-26T10:00:00-06:00",
            "ends_at": "2026-11-26T12:00:00-06:00",
            "label": "tomorrow by 12 PM",
        },
    ],
    "stores": [
        {
            "store_id": "store-0a1b2c3d4e5f",
            "store_name": "Northwind Apparel at Sample Galleria",
            "mall_id": "sample-galleria",
            "mall_name": "Sample Galleria",
            "lat": 39.7821,
            "lng": -89.6496,
            "quantity": 4,
            "prep_minutes": 15,
            "pickup_instructions": "Pickup desk by the east doors; show the order label.",
        }
    ],
    "delivery_area": {"lat": 39.7817, "lng": -89.6501, "radius_m": 30000},
}


class MallView(BaseModel):
    id: str
    name: str
    address: str
    lat: float
    lng: float
    timezone: str

    @classmethod
    def from_row(cls, row: MallRow) -> MallView:
        # The row has each of the view's fields under the same name.
        return cls.model_validate(row, from_attributes=True)


class StoreView(BaseModel):
    id: str
    retailer_id: str
    retailer_name: str
    mall_id: str
    name: str
    address: str
    phone: str
    lat: float
    lng: float
    prep_minutes: int
    pickup_instructions: str
    is_active: bool

    @classmethod
    def from_row(cls, row: StoreRow) -> StoreView:
        # The row has each of the view's fields under the same name.
        return cls.model_validate(row, from_attributes=True)


class DirectoryView(BaseModel):
    malls: list[MallView]
    stores: list[StoreView]


class OfferStoreView(BaseModel):
    store_id: str
    store_name: str
    mall_id: str
    mall_name: str
    lat: float
    lng: float
    quantity: int
    prep_minutes: int
    pickup_instructions: str


class DeliveryAreaView(BaseModel):
    lat: float
    lng: float
    radius_m: int


class WindowView(BaseModel):
    kind: WindowKind
    starts_at: datetime
    ends_at: datetime
    label: str


class OfferView(BaseModel):
    offer_id: str
    sku: str
    title: str
    price_cents: int
    currency: str
    deliver_by: datetime
    # The mall's delivery windows for the point asked about (else the offer's area), earliest
    # first: mall-level, the same whichever store fills the order.
    windows: list[WindowView]
    stores: list[OfferStoreView]
    delivery_area: DeliveryAreaView


@router.get(
    "/stores",
    summary="Every mall and store, with ids, names and contacts",
    responses={200: {"content": {"application/json": {"example": DIRECTORY_EXAMPLE}}}},
)
async def list_stores(db: DbDep) -> DirectoryView:
    async with db.begin() as tx:
        found = await usecases.directory(tx)
    return DirectoryView(
        malls=[MallView.from_row(m) for m in found.malls],
        stores=[StoreView.from_row(s) for s in found.stores],
    )


# A cart's worth, with room: the order service caps a cart at fewer lines.
MAX_OFFERS_PER_CALL = 50


class OffersView(BaseModel):
    # In the order asked, each once; the ids that are unknown or expired are listed apart.
    offers: list[OfferView]
    unknown: list[str]


@router.get(
    "/offers",
    summary="Resolve a cart's offer ids at once (see /v1/offers/{offer_id})",
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": {"offers": [OFFER_EXAMPLE], "unknown": ["bm8tc3VjaC1vZmZlcg"]}
                }
            }
        }
    },
)
async def get_offers(
    db: DbDep,
    runtime: RuntimeDep,
    offer_id: Annotated[
        list[str],
        Query(
            min_length=1,
            max_length=MAX_OFFERS_PER_CALL,
            examples=[["q3ZkTj9xW1bYc2VhLWV4YW1wbGUtb2ZmZXItMDE"]],
        ),
    ],
    lat: Annotated[float | None, Query(ge=-90, le=90, examples=[36.1605])] = None,
    lng: Annotated[float | None, Query(ge=-180, le=180, examples=[-115.1237])] = None,
) -> OffersView:
    point = Point(lat, lng) if lat is not None and lng is not None else None
    at = now()
    offers: list[OfferView] = []
    unknown: list[str] = []
    # One transaction and one answer for the cart: a checkout's one round trip to the catalog.
    async with db.begin() as tx:
        for one in dict.fromkeys(offer_id):
            try:
                offers.append(
                    _offer_view(await usecases.resolve_offer(tx, runtime, one, at, point))
                )
            except UnknownOffer:
                unknown.append(one)
    return OffersView(offers=offers, unknown=unknown)


@router.get(
    "/offers/{offer_id}",
    summary="Resolve an offer id to its product, promise and stocked stores",
    responses={
        200: {"content": {"application/json": {"example": OFFER_EXAMPLE}}},
        404: PROBLEM,
    },
)
async def get_offer(
    offer_id: Annotated[str, Path(examples=["q3ZkTj9xW1bYc2VhLWV4YW1wbGUtb2ZmZXItMDE"])],
    db: DbDep,
    runtime: RuntimeDep,
    lat: Annotated[float | None, Query(ge=-90, le=90, examples=[36.1605])] = None,
    lng: Annotated[float | None, Query(ge=-180, le=180, examples=[-115.1237])] = None,
) -> OfferView:
    point = Point(lat, lng) if lat is not None and lng is not None else None
    try:
        async with db.begin() as tx:
            offer = await usecases.resolve_offer(tx, runtime, offer_id, now(), point)
    except UnknownOffer:
        raise NotFound(
            "offer", "No such offer, or it has expired; query the catalog again."
        ) from None
    return _offer_view(offer)


def _offer_view(offer: ResolvedOffer) -> OfferView:
    return OfferView(
        offer_id=offer.offer_id,
        sku=offer.product.sku,
        title=offer.product.title,
        price_cents=offer.product.price_cents,
        currency=offer.product.currency,
        deliver_by=offer.promise.deliver_by,
        windows=[
            WindowView(
                kind=w.kind,
                starts_at=w.starts_at,
                ends_at=w.ends_at,
                label=w.label(offer.promise.day),
            )
            for w in offer.windows
        ],
        stores=[
            OfferStoreView(
                store_id=s.store.id,
                store_name=s.store.name,
                mall_id=offer.mall.id,
                mall_name=offer.mall.name,
                lat=s.store.lat,
                lng=s.store.lng,
                quantity=s.quantity,
                prep_minutes=s.store.prep_minutes,
                pickup_instructions=s.store.pickup_instructions,
            )
            for s in offer.stores
        ],
        delivery_area=DeliveryAreaView(
            lat=offer.area_center.lat, lng=offer.area_center.lng, radius_m=offer.area_radius_m
        ),
    )
