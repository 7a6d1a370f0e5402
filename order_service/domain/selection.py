"""Which stores fill a cart: the customer never learns the answer.

One store for the whole cart if possible, else the fewest stores of one mall; among equals the
nearest to the customer, then the least loaded. A line is never split between stores.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from order_service.domain.errors import SoldOut
from shared.geo import Point, TravelModel

MAX_STORES_PER_ORDER = 3


@dataclass(frozen=True)
class Candidate:
    store_id: str
    mall_id: str
    location: Point
    available: Mapping[str, int]
    # Open shipments the store is already working on.
    load: int = 0


@dataclass(frozen=True)
class Assignment:
    store_id: str
    mall_id: str
    quantities: dict[str, int] = field(default_factory=dict)


def merge_lines(lines: Sequence[tuple[str, int]]) -> dict[str, int]:
    merged: dict[str, int] = {}
    for sku, quantity in lines:
        merged[sku] = merged.get(sku, 0) + quantity
    return merged


def choose_stores(
    cart: Mapping[str, int],
    candidates: Sequence[Candidate],
    customer: Point,
    travel: TravelModel | None = None,
    max_stores: int = MAX_STORES_PER_ORDER,
) -> list[Assignment]:
    """The stores to fill `cart` (sku -> quantity), or SoldOut naming the SKUs no mall can fill."""
    model = travel or TravelModel()
    best: tuple[tuple[int, float, int, tuple[str, ...]], list[Assignment]] | None = None
    by_mall: dict[str, list[Candidate]] = {}
    for candidate in candidates:
        if any(candidate.available.get(sku, 0) >= qty for sku, qty in cart.items()):
            by_mall.setdefault(candidate.mall_id, []).append(candidate)
    for stores in by_mall.values():
        for size in range(1, min(max_stores, len(cart), len(stores)) + 1):
            if best is not None and best[0][0] < size:
                break
            for group in itertools.combinations(stores, size):
                assignment = _assign(cart, group, customer, model)
                if assignment is None:
                    continue
                score = (
                    len(assignment),
                    round(sum(model.road_meters(c.location, customer) for c in group), 1),
                    sum(c.load for c in group),
                    tuple(sorted(c.store_id for c in group)),
                )
                if best is None or score < best[0]:
                    best = (score, assignment)
    if best is None:
        raise SoldOut(_unfillable(cart, candidates))
    return best[1]


def _assign(
    cart: Mapping[str, int], group: Sequence[Candidate], customer: Point, model: TravelModel
) -> list[Assignment] | None:
    nearest_first = sorted(group, key=lambda c: (model.road_meters(c.location, customer), c.load))
    chosen: dict[str, Assignment] = {}
    for sku, quantity in cart.items():
        store = next((c for c in nearest_first if c.available.get(sku, 0) >= quantity), None)
        if store is None:
            return None
        chosen.setdefault(
            store.store_id, Assignment(store_id=store.store_id, mall_id=store.mall_id)
        ).quantities[sku] = quantity
    if len(chosen) < len(group):
        return None  # a smaller group does the same job
    return [chosen[c.store_id] for c in nearest_first if c.store_id in chosen]


def _unfillable(cart: Mapping[str, int], candidates: Sequence[Candidate]) -> list[str]:
    missing = [
        sku
        for sku, quantity in cart.items()
        if not any(c.available.get(sku, 0) >= quantity for c in candidates)
    ]
    # Every SKU exists somewhere, just never all in one mall: name them all.
    return missing or sorted(cart)
