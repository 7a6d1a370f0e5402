"""One stop of a driver's route, as the route keeps it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from uuid import UUID

from shared.events.common import GeoPoint
from shared.events.dispatch import RouteStop, StopKind
from shared.events.driver import RouteStopState, StopStatus
from shared.geo import Point


@dataclass
class Stop:
    id: UUID
    sequence: int
    kind: StopKind
    shipment_id: UUID
    order_id: UUID
    store_id: str
    store_name: str
    lat: float
    lng: float
    address: str
    area: str
    instructions: str
    labels: list[str]
    package_count: int
    eta: datetime
    deliver_by: datetime
    pin_sha256: str | None = None
    # A drop-off in a scheduled window: not before this.
    deliver_from: datetime | None = None
    status: StopStatus = StopStatus.PENDING
    picked_labels: list[str] | None = None
    missing_labels: list[str] | None = None
    arrived_at: datetime | None = None
    done_at: datetime | None = None
    fail_reason: str | None = None
    proof_photo_sha256: str | None = None
    wait_pay_cents: int = 0

    @classmethod
    def of(cls, stop: RouteStop) -> Stop:
        return cls(
            id=stop.stop_id,
            sequence=stop.sequence,
            kind=stop.kind,
            shipment_id=stop.shipment_id,
            order_id=stop.order_id,
            store_id=stop.store_id,
            store_name=stop.store_name,
            lat=stop.location.lat,
            lng=stop.location.lng,
            address=stop.address,
            area=stop.area,
            instructions=stop.instructions,
            labels=list(stop.labels),
            package_count=stop.package_count,
            eta=stop.eta,
            deliver_by=stop.deliver_by,
            pin_sha256=stop.pin_sha256,
            deliver_from=stop.deliver_from,
        )

    @property
    def point(self) -> Point:
        return Point(self.lat, self.lng)

    def state(self) -> RouteStopState:
        return RouteStopState(
            stop_id=self.id,
            sequence=self.sequence,
            kind=self.kind,
            shipment_id=self.shipment_id,
            order_id=self.order_id,
            store_id=self.store_id,
            store_name=self.store_name,
            location=GeoPoint(lat=self.lat, lng=self.lng),
            address=self.address,
            area=self.area,
            instructions=self.instructions,
            labels=list(self.labels),
            package_count=self.package_count,
            eta=self.eta,
            deliver_by=self.deliver_by,
            pin_sha256=self.pin_sha256,
            deliver_from=self.deliver_from,
            status=self.status,
        )

    def cancel(self, reason: str, at: datetime) -> None:
        self.status, self.fail_reason, self.done_at = StopStatus.CANCELLED, reason, at

    def return_trip(self, dropoff: Stop, *, stop_id: UUID, sequence: int, at: datetime) -> Stop:
        """The stop that takes `dropoff`'s packages, picked up at this stop, back to the store."""
        return replace(
            self,
            id=stop_id,
            sequence=sequence,
            kind=StopKind.RETURN,
            labels=list(self.picked_labels or self.labels),
            package_count=dropoff.package_count,
            eta=at,
            deliver_by=dropoff.deliver_by,
            pin_sha256=None,
            status=StopStatus.PENDING,
            picked_labels=None,
            missing_labels=None,
            arrived_at=None,
            done_at=None,
            fail_reason=None,
            proof_photo_sha256=None,
            wait_pay_cents=0,
        )
