"""Resolving an offer id to the stocked stores of its mall and the promise it can make."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from catalog_service.domain.coverage import center_of
from catalog_service.domain.errors import UnknownOffer
from catalog_service.domain.listings import Product
from catalog_service.domain.promise import NoPromise, Promise, Window, is_within_area, windows_for
from catalog_service.domain.tokens import BadToken
from catalog_service.store import catalog
from catalog_service.store.catalog import MallRow, StockedStore
from catalog_service.usecases.runtime import CatalogRuntime
from shared.db import Tx
from shared.geo import Point


@dataclass(frozen=True, slots=True)
class ResolvedOffer:
    offer_id: str
    product: Product
    mall: MallRow
    promise: Promise
    stores: list[StockedStore]
    # The mall's delivery area, so checkout can refuse an address outside it.
    area_center: Point
    area_radius_m: int
    # Every window the mall has for the point, earliest first; the promise ends the first.
    windows: list[Window]


async def resolve_offer(
    tx: Tx, runtime: CatalogRuntime, offer_id: str, now: datetime, point: Point | None = None
) -> ResolvedOffer:
    """The offer's product, its mall's windows for `point` (else its cell's centre) and the
    stores that stock it. Good on the day it was listed only."""
    try:
        ref = runtime.offers.decode(offer_id)
    except BadToken as error:
        raise UnknownOffer() from error
    rules = runtime.model.malls.get(ref.mall_id)
    if rules is None or now.astimezone(rules.zone).date() != ref.day:
        raise UnknownOffer()
    where = center_of(ref.cell)
    if point is not None and is_within_area(rules, point):
        where = point
    capacity = runtime.model.capacity_rule(ref.mall_id, where)
    windows = windows_for(rules, where, now, capacity)
    product = await catalog.product(tx, ref.sku)
    if isinstance(windows, NoPromise) or product is None:
        raise UnknownOffer()
    first = windows[0]
    promise = Promise(ref.mall_id, first.ends_at, ref.day, first)
    mall = next(m for m in await catalog.mall_rows(tx) if m.id == ref.mall_id)
    return ResolvedOffer(
        offer_id,
        product,
        mall,
        promise,
        await catalog.stocked_stores(tx, ref.mall_id, ref.sku),
        rules.point,
        rules.delivery_radius_m,
        windows,
    )
