"""Events of the catalog service. Internal: they may name stores; customers never see them."""

from __future__ import annotations

from typing import ClassVar

from pydantic import AwareDatetime, Field

from shared.events import topics
from shared.events.common import GeoPoint
from shared.events.envelope import Payload, register


@register
class InventoryChanged(Payload):
    TYPE: ClassVar[str] = "inventory.changed"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = topics.INVENTORY

    store_id: str
    retailer_id: str
    mall_id: str
    sku: str
    quantity: int = Field(ge=0)
    # The retailer's own timestamp of the count: older updates than the stored one are stale.
    as_of: AwareDatetime


@register
class StoreUpserted(Payload):
    """A store was created or changed; order and dispatch keep their own copy of the directory."""

    TYPE: ClassVar[str] = "store.upserted"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = topics.STORES

    store_id: str
    retailer_id: str
    retailer_name: str
    mall_id: str
    mall_name: str
    name: str
    location: GeoPoint
    timezone: str
    pickup_instructions: str
    prep_minutes: int = Field(ge=0)
    is_active: bool = True
