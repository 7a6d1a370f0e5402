"""Retailer inventory batches: validated whole, then planned against what is stored."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

MAX_BATCH_ROWS = 10_000
# Far above any store's count of one SKU, far below the 32-bit column's limit.
MAX_QUANTITY = 1_000_000


class BatchMode(StrEnum):
    SNAPSHOT = "snapshot"  # the full count of every store named in the batch
    DELTA = "delta"  # changes to add to the stored counts


@dataclass(frozen=True, slots=True)
class InventoryRow:
    store_id: str
    sku: str
    # snapshot: the count; delta: the change (negative for sales)
    quantity: int


@dataclass(frozen=True, slots=True)
class RowError:
    index: int
    message: str


@dataclass(frozen=True, slots=True)
class StockLevel:
    quantity: int
    as_of: datetime


@dataclass(frozen=True, slots=True)
class StockChange:
    store_id: str
    sku: str
    quantity: int
    as_of: datetime


@dataclass(frozen=True, slots=True)
class InventoryPlan:
    changes: list[StockChange]
    ignored_stale: int


class InventoryRejected(Exception):
    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"{len(errors)} bad inventory rows")
        self.errors = errors


def check_rows(
    rows: list[InventoryRow],
    mode: BatchMode,
    own_store_ids: Collection[str],
    known_skus: Collection[str],
) -> list[RowError]:
    errors: list[RowError] = []
    seen: set[tuple[str, str]] = set()
    for index, row in enumerate(rows):
        if row.store_id not in own_store_ids:
            errors.append(RowError(index, "store is not one of this retailer's stores"))
        if row.sku not in known_skus:
            errors.append(RowError(index, "unknown SKU; upsert the product first"))
        if mode is BatchMode.SNAPSHOT and row.quantity < 0:
            errors.append(RowError(index, "negative quantity; send 0 or more"))
        if (row.store_id, row.sku) in seen:
            errors.append(RowError(index, "duplicate row for this store and SKU"))
        seen.add((row.store_id, row.sku))
    return errors


def plan_batch(
    rows: list[InventoryRow],
    mode: BatchMode,
    as_of: datetime,
    stored: Mapping[tuple[str, str], StockLevel],
) -> InventoryPlan:
    """The counts to store. A row older than the stored count is ignored, not applied.

    `stored` holds every stored count of the batch's rows and, for a snapshot, of every SKU of
    the stores it names: a snapshot sets what it does not list to zero.
    """
    changes: list[StockChange] = []
    errors: list[RowError] = []
    ignored = 0
    listed = {(row.store_id, row.sku) for row in rows}
    for index, row in enumerate(rows):
        held = stored.get((row.store_id, row.sku))
        if held is not None and held.as_of > as_of:
            ignored += 1
            continue
        quantity = row.quantity
        if mode is BatchMode.DELTA:
            quantity += held.quantity if held is not None else 0
            if quantity < 0:
                errors.append(RowError(index, "this change would make the count negative"))
                continue
            if quantity > MAX_QUANTITY:
                errors.append(RowError(index, f"the count would exceed {MAX_QUANTITY}"))
                continue
        changes.append(StockChange(row.store_id, row.sku, quantity, as_of))
    if errors:
        raise InventoryRejected(errors)
    if mode is BatchMode.SNAPSHOT:
        stores = {row.store_id for row in rows}
        for (store_id, sku), held in sorted(stored.items()):
            if store_id not in stores or (store_id, sku) in listed:
                continue
            if held.as_of > as_of:
                ignored += 1
            elif held.quantity != 0:
                changes.append(StockChange(store_id, sku, 0, as_of))
    return InventoryPlan(changes, ignored)
