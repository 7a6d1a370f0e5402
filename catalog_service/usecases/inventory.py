"""Stock: a retailer's inventory posts, and the read model following stock and capacity events."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from catalog_service.domain.coverage import is_valid_cell
from catalog_service.domain.inventory import (
    BatchMode,
    InventoryRejected,
    InventoryRow,
    check_rows,
    plan_batch,
)
from catalog_service.domain.promise import CapacityRule
from catalog_service.store import catalog
from catalog_service.usecases.runtime import CatalogRuntime
from shared import outbox
from shared.db import Tx
from shared.events.catalog import InventoryChanged
from shared.events.dispatch import ZoneCapacityChanged

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class InventoryResult:
    applied: int
    ignored_stale: int


async def post_inventory(
    tx: Tx, retailer_id: str, mode: BatchMode, as_of: datetime, rows: list[InventoryRow]
) -> InventoryResult:
    own_stores = await catalog.store_ids_of(tx, retailer_id)
    owners = await catalog.product_owners(tx, {row.sku for row in rows})
    errors = check_rows(rows, mode, own_stores, owners.keys())
    if errors:
        raise InventoryRejected(errors)
    named_stores = {row.store_id for row in rows}
    await catalog.lock_stores(tx, named_stores)
    stored = await catalog.stock_levels(
        tx,
        [(row.store_id, row.sku) for row in rows],
        whole_stores=named_stores if mode is BatchMode.SNAPSHOT else (),
    )
    plan = plan_batch(rows, mode, as_of, stored)
    await catalog.save_stock(tx, plan.changes)
    placement = await catalog.store_malls(tx, named_stores)
    await outbox.add_many(
        tx,
        [
            (
                InventoryChanged(
                    store_id=change.store_id,
                    retailer_id=placement[change.store_id][0],
                    mall_id=placement[change.store_id][1],
                    sku=change.sku,
                    quantity=change.quantity,
                    as_of=change.as_of,
                ),
                change.store_id,
            )
            for change in plan.changes
        ],
    )
    return InventoryResult(len(plan.changes), plan.ignored_stale)


async def apply_inventory_changed(runtime: CatalogRuntime, event: InventoryChanged) -> None:
    await runtime.ready.wait()
    runtime.model.apply_stock(event.store_id, event.mall_id, event.sku, event.quantity, event.as_of)


async def apply_zone_capacity(tx: Tx, runtime: CatalogRuntime, event: ZoneCapacityChanged) -> None:
    await runtime.ready.wait()
    if not await catalog.mall_exists(tx, event.mall_id):
        log.warning("capacity_for_unknown_mall", extra={"mall_id": event.mall_id})
        return
    rule = CapacityRule(event.same_day_enabled, event.promise_delay_minutes)
    cells: list[str | None] = [c for c in event.h3_cells if is_valid_cell(c)] or [None]
    if event.h3_cells and cells == [None]:
        log.warning("capacity_without_valid_cells", extra={"mall_id": event.mall_id})
        return
    for cell in cells:
        await catalog.save_capacity(tx, event.mall_id, cell, rule, event.reason)
    # Memory changes only once the row is saved; a retried event sets the same values again.
    for cell in cells:
        runtime.model.set_capacity(event.mall_id, cell, rule)
