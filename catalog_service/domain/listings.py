"""The read model behind the same-day query: in-stock listings per mall, kept in memory.

Stock is held per store so that totals can be recomputed when one store changes, but a query
only ever sees per-mall totals: the same SKU in several stores of a mall is one listing.
Listings are kept sorted by (title, sku), an order that does not depend on stores, so a page is
a bisect plus a walk, never a scan of stores.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from catalog_service.domain.coverage import Coverage, cells_of_point, resolution_of
from catalog_service.domain.promise import (
    CapacityRule,
    MallCapacity,
    MallRules,
    NoPromise,
    Promise,
    promise_for,
)
from shared.geo import Point

SortKey = tuple[str, str]
# Renders the parts of a listing that change only with its product (the API's wire format).
Fragment = Callable[["Product"], bytes]


@dataclass(frozen=True, slots=True)
class Product:
    sku: str
    gtin: str
    title: str
    brand: str
    category: str
    price_cents: int
    currency: str
    image_urls: tuple[str, ...]

    @property
    def sort_key(self) -> SortKey:
        return (self.title.casefold(), self.sku)

    @property
    def search_text(self) -> str:
        return f"{self.title} {self.brand} {self.category}".casefold()


@dataclass(slots=True)
class StockEntry:
    quantity: int
    as_of: datetime


@dataclass(slots=True)
class _MallListings:
    stock: dict[str, dict[str, StockEntry]] = field(default_factory=dict)  # sku -> store -> entry
    totals: dict[str, int] = field(default_factory=dict)
    keys: list[SortKey] = field(default_factory=list)


class Listing(NamedTuple):
    # A tuple, not a dataclass: a page builds twenty of them per request.
    product: Product
    quantity: int
    promise: Promise


@dataclass(frozen=True, slots=True)
class SameDayPage:
    cell: str
    items: list[Listing]
    last_key: SortKey | None  # set when another page follows
    reason: NoPromise | None


@dataclass(frozen=True, slots=True)
class SameDayQuery:
    point: Point
    text: str | None = None
    category: str | None = None
    after: SortKey | None = None
    limit: int = 20


class CatalogReadModel:
    def __init__(
        self, malls: Iterable[MallRules], h3_resolution: int, fragment: Fragment | None = None
    ) -> None:
        self._render = fragment
        self._fragments: dict[str, tuple[Product, bytes]] = {}
        self.malls = {mall.mall_id: mall for mall in malls}
        self.coverage = Coverage(self.malls.values(), h3_resolution)
        self._rank = {mall_id: rank for rank, mall_id in enumerate(sorted(self.malls))}
        self._listings = {mall_id: _MallListings() for mall_id in self.malls}
        self._capacity: dict[str, MallCapacity] = {}
        self._products: dict[str, Product] = {}
        self._inactive_stores: set[str] = set()
        self._store_mall: dict[str, str] = {}

    def product(self, sku: str) -> Product | None:
        return self._products.get(sku)

    def fragment(self, product: Product, render: Fragment) -> bytes:
        """The product's pre-rendered listing fields, rendered (and kept) if missing or stale."""
        held = self._fragments.get(product.sku)
        if held is not None and held[0] is product:
            return held[1]
        rendered = render(product)
        self._fragments[product.sku] = (product, rendered)
        return rendered

    def upsert_product(self, product: Product) -> None:
        old = self._products.get(product.sku)
        self._products[product.sku] = product
        if self._render is not None:
            self._fragments[product.sku] = (product, self._render(product))
        for listings in self._listings.values():
            if listings.totals.get(product.sku, 0) <= 0:
                continue
            if old is not None:
                _remove_key(listings.keys, old.sort_key)
            bisect.insort(listings.keys, product.sort_key)

    def set_store(self, store_id: str, mall_id: str, *, is_active: bool) -> None:
        self._store_mall[store_id] = mall_id
        was_active = store_id not in self._inactive_stores
        if is_active:
            self._inactive_stores.discard(store_id)
        else:
            self._inactive_stores.add(store_id)
        listings = self._listings.get(mall_id)
        if listings is None or was_active == is_active:
            return
        for sku, by_store in listings.stock.items():
            if store_id in by_store:
                self._retotal(listings, sku)

    def apply_stock(
        self, store_id: str, mall_id: str, sku: str, quantity: int, as_of: datetime
    ) -> bool:
        """Sets one store's count of a SKU unless a newer count is already held."""
        listings = self._listings.get(mall_id)
        if listings is None:
            return False
        self._store_mall.setdefault(store_id, mall_id)
        by_store = listings.stock.setdefault(sku, {})
        held = by_store.get(store_id)
        if held is not None and held.as_of > as_of:
            return False
        by_store[store_id] = StockEntry(quantity, as_of)
        self._retotal(listings, sku)
        return True

    def set_capacity(self, mall_id: str, cell: str | None, rule: CapacityRule) -> None:
        current = self._capacity.get(mall_id, MallCapacity())
        if cell is None:
            self._capacity[mall_id] = MallCapacity(rule, current.cells)
        else:
            self._capacity[mall_id] = MallCapacity(
                current.whole_area, {**current.cells, cell: rule}
            )

    def total_in_stock(self, mall_id: str, sku: str) -> int:
        return self._listings[mall_id].totals.get(sku, 0)

    def query(self, query: SameDayQuery, now: datetime) -> SameDayPage:
        cell = self.coverage.cell_of(query.point)
        promises: list[Promise] = []
        reasons: set[NoPromise] = set()
        for mall_id in self.coverage.candidate_malls(cell):
            outcome = promise_for(
                self.malls[mall_id], query.point, now, self.capacity_rule(mall_id, query.point)
            )
            if isinstance(outcome, Promise):
                promises.append(outcome)
            else:
                reasons.add(outcome)
        if not promises:
            return SameDayPage(cell, [], None, _main_reason(reasons))
        promises.sort(key=lambda p: (p.deliver_by, self._rank[p.mall_id]))
        if len(promises) == 1 and not query.text and not query.category:
            return self._one_mall_page(cell, promises[0], query)
        walks = [
            self._walk(rank, self._listings[p.mall_id], query) for rank, p in enumerate(promises)
        ]
        items: list[Listing] = []
        last_sku = None
        for key, rank in heapq.merge(*walks):
            # The same SKU from a later-promising mall comes right after: one listing per SKU.
            if key[1] == last_sku:
                continue
            last_sku = key[1]
            if len(items) == query.limit:
                return SameDayPage(cell, items, items[-1].product.sort_key, None)
            promise = promises[rank]
            quantity = self._listings[promise.mall_id].totals[key[1]]
            items.append(Listing(self._products[key[1]], quantity, promise))
        return SameDayPage(cell, items, None, None)

    def _one_mall_page(self, cell: str, promise: Promise, query: SameDayQuery) -> SameDayPage:
        """The common page, one mall and no filter: a slice of its sorted keys, no merge."""
        listings = self._listings[promise.mall_id]
        keys = listings.keys
        start = 0 if query.after is None else bisect.bisect_right(keys, query.after)
        chosen = keys[start : start + query.limit + 1]
        totals, products = listings.totals, self._products
        items = [Listing(products[sku], totals[sku], promise) for _, sku in chosen[: query.limit]]
        more = len(chosen) > query.limit
        return SameDayPage(cell, items, items[-1].product.sort_key if more else None, None)

    def _walk(
        self, rank: int, listings: _MallListings, query: SameDayQuery
    ) -> Iterator[tuple[SortKey, int]]:
        keys = listings.keys
        start = 0 if query.after is None else bisect.bisect_right(keys, query.after)
        words = query.text.casefold().split() if query.text else []
        category = query.category.casefold() if query.category else None
        for index in range(start, len(keys)):
            key = keys[index]
            if words or category:
                product = self._products[key[1]]
                if category is not None and product.category.casefold() != category:
                    continue
                text = product.search_text
                if not all(word in text for word in words):
                    continue
            yield key, rank

    def capacity_rule(self, mall_id: str, point: Point) -> CapacityRule:
        capacity = self._capacity.get(mall_id)
        if capacity is None:
            return CapacityRule()
        resolutions = {resolution_of(cell) for cell in capacity.cells}
        return capacity.rule_for(cells_of_point(point, resolutions))

    def _retotal(self, listings: _MallListings, sku: str) -> None:
        total = sum(
            entry.quantity
            for store_id, entry in listings.stock.get(sku, {}).items()
            if store_id not in self._inactive_stores
        )
        was_listed = listings.totals.get(sku, 0) > 0
        listings.totals[sku] = total
        product = self._products.get(sku)
        if product is None:
            return
        if was_listed and total <= 0:
            _remove_key(listings.keys, product.sort_key)
        elif not was_listed and total > 0:
            bisect.insort(listings.keys, product.sort_key)


def _remove_key(keys: list[SortKey], key: SortKey) -> None:
    index = bisect.bisect_left(keys, key)
    if index < len(keys) and keys[index] == key:
        del keys[index]


def _main_reason(reasons: set[NoPromise]) -> NoPromise:
    for reason in (NoPromise.PAUSED, NoPromise.CLOSED):
        if reason in reasons:
            return reason
    return NoPromise.OUTSIDE_AREA
