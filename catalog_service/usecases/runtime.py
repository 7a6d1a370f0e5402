"""What the API and the consumers share in one process: the read model and the codecs."""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime

import orjson

from catalog_service.domain.listings import CatalogReadModel, Fragment, SameDayPage, SameDayQuery
from catalog_service.domain.tokens import CursorCodec, OfferCodec, OfferRef
from catalog_service.settings import CatalogSettings
from catalog_service.store import catalog
from shared.db import Db

log = logging.getLogger(__name__)


OFFER_ID_CACHE_SIZE = 200_000


class CatalogRuntime:
    """What the API and the consumers share in one process: the read model and the codecs."""

    def __init__(self, settings: CatalogSettings, fragment: Fragment | None = None) -> None:
        self.settings = settings
        self.offers = OfferCodec(settings.token_secret)
        self.cursors = CursorCodec(settings.token_secret)
        self.fragment = fragment
        self.model = CatalogReadModel([], settings.h3_resolution, fragment=fragment)
        self.ready = asyncio.Event()
        # Keyed by (sku, mall, cell, day): a plain tuple hashes and compares in C.
        self._offer_ids: dict[tuple[str, str, str, date], bytes] = {}
        self._cursors: dict[tuple[str, str], bytes] = {}

    def offer_id_bytes(self, sku: str, mall_id: str, cell: str, day: date) -> bytes:
        # Offer ids are deterministic, so caching them is safe; encryption costs a third of a
        # same-day response, and popular cells repeat.
        key = (sku, mall_id, cell, day)
        found = self._offer_ids.get(key)
        if found is None:
            if len(self._offer_ids) >= OFFER_ID_CACHE_SIZE:
                self._offer_ids.clear()
            found = self._offer_ids[key] = self.offers.encode(OfferRef(*key)).encode()
        return found

    def cursor(self, last_key: tuple[str, str]) -> bytes:
        # Deterministic too, and each page's last key recurs for every customer near it.
        found = self._cursors.get(last_key)
        if found is None:
            if len(self._cursors) >= OFFER_ID_CACHE_SIZE:
                self._cursors.clear()
            found = self._cursors[last_key] = orjson.dumps(self.cursors.encode(last_key))
        return found

    def offer_id(self, ref: OfferRef) -> str:
        return self.offer_id_bytes(ref.sku, ref.mall_id, ref.cell, ref.day).decode()

    async def load(self, db: Db) -> None:
        """Builds the read model from the database.

        Consumers may apply events meanwhile: they write into the same model, and a count never
        replaces a newer one, so the snapshot and the events agree whatever their order.
        """
        async with db.begin() as tx:
            self.model = CatalogReadModel(
                await catalog.mall_rules(tx), self.settings.h3_resolution, fragment=self.fragment
            )
            self.ready.set()
            for mall_id, cell, rule in await catalog.capacity_rules(tx):
                self.model.set_capacity(mall_id, cell, rule)
            for store in await catalog.all_stores(tx):
                self.model.set_store(store.id, store.mall_id, is_active=store.is_active)
            async for product in catalog.stream_products(tx):
                self.model.upsert_product(product)
            rows = 0
            async for store_id, mall_id, sku, quantity, as_of in catalog.stream_stock(tx):
                self.model.apply_stock(store_id, mall_id, sku, quantity, as_of)
                rows += 1
        log.info("read_model_loaded", extra={"stock_rows": rows})


def same_day(runtime: CatalogRuntime, query: SameDayQuery, now: datetime) -> SameDayPage:
    return runtime.model.query(query, now)
