from __future__ import annotations

from typing import Any

from catalog_service import usecases
from catalog_service.usecases import CatalogRuntime
from shared.db import Tx
from shared.events import topics
from shared.events.catalog import InventoryChanged
from shared.events.dispatch import ZoneCapacityChanged
from shared.events.envelope import Envelope
from shared.service import ConsumerSpec


def build_consumers(runtime: CatalogRuntime) -> list[ConsumerSpec]:
    """The read model follows the catalog's own inventory topic, so every instance sees every
    change, and dispatch's capacity signal."""

    async def on_inventory_changed(tx: Tx, envelope: Envelope[Any]) -> None:
        await usecases.apply_inventory_changed(runtime, envelope.payload)

    async def on_zone_capacity_changed(tx: Tx, envelope: Envelope[Any]) -> None:
        await usecases.apply_zone_capacity(tx, runtime, envelope.payload)

    return [
        ConsumerSpec(
            # One group per replica: in a shared group each replica would see only its share of
            # the partitions, so only part of the stock and capacity changes.
            f"read-model.{runtime.settings.replica_id}",
            topics=[topics.INVENTORY, topics.ZONES],
            handlers={
                InventoryChanged.TYPE: on_inventory_changed,
                ZoneCapacityChanged.TYPE: on_zone_capacity_changed,
            },
        )
    ]
