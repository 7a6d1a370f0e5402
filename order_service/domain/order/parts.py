"""The parts of an order: the stores that fill it, its lines and its shipments (one per store)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from order_service.domain.order.status import HOLDER, Party, S, ShipmentStatus
from order_service.domain.selection import Candidate
from shared.geo import Point


@dataclass(frozen=True)
class Store:
    store_id: str
    mall_id: str
    mall_name: str
    name: str
    location: Point
    pickup_instructions: str
    is_active: bool = True


@dataclass
class Line:
    id: UUID
    shipment_id: UUID
    position: int
    offer_id: str
    sku: str
    title: str
    quantity: int
    unit_price_cents: int
    is_cancelled: bool = False


@dataclass
class Shipment:
    id: UUID
    order_id: UUID
    store_id: str
    status: ShipmentStatus
    package_count: int | None = None
    labels: list[str] = field(default_factory=list)
    ready_at: datetime | None = None
    created_at: datetime | None = None
    # Packages the driver could not find at the pickup scan.
    missing_labels: list[str] = field(default_factory=list)
    # sku -> quantity that left the shelf when it was packed (and has not been written off).
    packed: dict[str, int] = field(default_factory=dict)
    # The store confirmed goods that came back (cancelled after packing, or returned) are
    # on its shelf again.
    restocked_at: datetime | None = None
    # When the driver expects to reach the door, as the driver service planned it at pickup.
    dropoff_eta: datetime | None = None
    delivered_at: datetime | None = None
    # The proof photo's content hash; the driver service keeps the photo itself.
    proof_photo_sha256: str | None = None

    @property
    def was_packed(self) -> bool:
        return self.package_count is not None

    @property
    def holder(self) -> Party:
        return HOLDER[self.status]

    @property
    def is_off_the_shelf(self) -> bool:
        """Packed goods that are not (yet) back on the store's shelf."""
        return self.was_packed and self.restocked_at is None

    @property
    def is_restock_due(self) -> bool:
        return (
            self.was_packed
            and self.restocked_at is None
            and self.status in (S.CANCELLED, S.RETURNED_TO_STORE)
        )


@dataclass(frozen=True)
class Rerouting:
    """What a use case found out for a re-route: the other stores' free stock, locked."""

    candidates: Sequence[Candidate]
    new_id: Callable[[], UUID] = uuid.uuid4
