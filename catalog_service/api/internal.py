"""Internal endpoints for the other services and the end-to-end tests. They name stores."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from catalog_service import usecases
from catalog_service.api.deps import DbDep, RuntimeDep
from catalog_service.domain.errors import UnknownOffer
from catalog_service.store.catalog import MallRow, StoreRow
from shared.clock import now
from shared.problems import PROBLEM, NotFound

router = APIRouter(prefix="/v1", tags=["internal"])


class MallView(BaseModel):
    id: str
    name: str
    address: str
    lat: float
    lng: float
    timezone: str

    @classmethod
    def from_row(cls, row: MallRow) -> MallView:
        return cls(
            id=row.id,
            name=row.name,
            address=row.address,
            lat=row.lat,
            lng=row.lng,
            timezone=row.timezone,
        )


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
        return cls(
            id=row.id,
            retailer_id=row.retailer_id,
            retailer_name=row.retailer_name,
            mall_id=row.mall_id,
            name=row.name,
            address=row.address,
            phone=row.phone,
            lat=row.lat,
            lng=row.lng,
            prep_minutes=row.prep_minutes,
            pickup_instructions=row.pickup_instructions,
            is_active=row.is_active,
        )


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


class OfferView(BaseModel):
    offer_id: str
    sku: str
    title: str
    price_cents: int
    currency: str
    deliver_by: datetime
    stores: list[OfferStoreView]


@router.get("/stores", summary="Every mall and store, with ids, names and contacts")
async def list_stores(db: DbDep) -> DirectoryView:
    async with db.begin() as tx:
        found = await usecases.directory(tx)
    return DirectoryView(
        malls=[MallView.from_row(m) for m in found.malls],
        stores=[StoreView.from_row(s) for s in found.stores],
    )


@router.get(
    "/offers/{offer_id}",
    summary="Resolve an offer id to its product, promise and stocked stores",
    responses={404: PROBLEM},
)
async def get_offer(offer_id: str, db: DbDep, runtime: RuntimeDep) -> OfferView:
    try:
        async with db.begin() as tx:
            offer = await usecases.resolve_offer(tx, runtime, offer_id, now())
    except UnknownOffer:
        raise NotFound(
            "offer", "No such offer, or it has expired; query the catalog again."
        ) from None
    return OfferView(
        offer_id=offer.offer_id,
        sku=offer.product.sku,
        title=offer.product.title,
        price_cents=offer.product.price_cents,
        currency=offer.product.currency,
        deliver_by=offer.promise.deliver_by,
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
    )
