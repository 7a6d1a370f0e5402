"""The malls and stores: the pilot malls set up, the directory read, a store's event."""

from __future__ import annotations

from dataclasses import dataclass

from catalog_service.settings import CatalogSettings
from catalog_service.store import catalog
from catalog_service.store.catalog import MallRow, StoreRow
from shared.db import Tx
from shared.events.catalog import StoreUpserted
from shared.events.common import GeoPoint
from shared.malls import pilot_malls


def pilot_mall_rows(settings: CatalogSettings) -> list[dict[str, object]]:
    return [
        {
            "id": mall.id,
            "name": mall.name,
            "address": mall.address,
            "lat": mall.lat,
            "lng": mall.lng,
            "timezone": mall.timezone,
            "hours": {
                day: [opens.isoformat("minutes"), closes.isoformat("minutes")]
                for day, (opens, closes) in mall.hours.items()
            },
            "delivery_radius_m": settings.default_delivery_radius_m,
            "road_factor": settings.default_road_factor,
            "average_speed_kmh": settings.default_average_speed_kmh,
            "cutoff_minutes_before_close": settings.default_cutoff_minutes_before_close,
            "prep_minutes": settings.default_prep_minutes,
        }
        for mall in pilot_malls()
    ]


async def ensure_malls(tx: Tx, settings: CatalogSettings) -> None:
    """Adds the pilot malls with default settings; a mall already there keeps its own."""
    await catalog.insert_malls_if_missing(tx, pilot_mall_rows(settings))


@dataclass(frozen=True, slots=True)
class Directory:
    malls: list[MallRow]
    stores: list[StoreRow]


async def directory(tx: Tx) -> Directory:
    return Directory(await catalog.mall_rows(tx), await catalog.all_stores(tx))


def store_upserted(store: StoreRow) -> StoreUpserted:
    return StoreUpserted(
        store_id=store.id,
        retailer_id=store.retailer_id,
        retailer_name=store.retailer_name,
        mall_id=store.mall_id,
        mall_name=store.mall_name,
        name=store.name,
        location=GeoPoint(lat=store.lat, lng=store.lng),
        timezone=store.timezone,
        pickup_instructions=store.pickup_instructions,
        prep_minutes=store.prep_minutes,
        is_active=store.is_active,
    )


async def stores_of(tx: Tx, retailer_id: str) -> list[StoreRow]:
    return [s for s in await catalog.all_stores(tx) if s.retailer_id == retailer_id]
