"""The store's steps on its shipment of an order: accept, pack, report missing items, cancel,
restock; and re-routing what a store could not fill to another store of the mall.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from order_service.domain.errors import (
    IllegalTransition,
    LineNotInShipment,
    SoldOut,
    UnknownShipment,
)
from order_service.domain.order.changes import (
    Changes,
    StockMove,
    StockMoveKind,
    StoreNotice,
    TimelineNote,
)
from order_service.domain.order.parts import Line, Rerouting, Shipment, Store
from order_service.domain.order.state import OrderState
from order_service.domain.order.status import (
    HOLDING_STOCK,
    ITEM_UNAVAILABLE,
    S,
    order_status,
    transition,
)
from order_service.domain.selection import Assignment, Candidate, choose_stores, merge_lines
from shared.events.common import GeoPoint
from shared.events.order import (
    OrderAccepted,
    OrderCancelled,
    OrderLineRerouted,
    OrderReadyForPickup,
    ShipmentLine,
)
from shared.geo import Point


class StoreSteps(OrderState):
    """What the store's POS reports, and the expiry of a part no store accepted in time."""

    # --- the store's POS ----------------------------------------------------------------------

    def _shipment_of_store(self, shipment_id: UUID, store_id: str) -> Shipment:
        shipment = self.shipment(shipment_id)
        if shipment is None or shipment.store_id != store_id:
            raise UnknownShipment
        return shipment

    def accepted(self, shipment_id: UUID, store_id: str, *, at: datetime) -> Changes:
        shipment = self._shipment_of_store(shipment_id, store_id)
        shipment.status = transition(shipment.status, S.ACCEPTED)
        changes = Changes(
            events=[
                OrderAccepted(
                    order_id=self.id,
                    shipment_id=shipment.id,
                    mall_id=self.mall_id,
                    store_id=store_id,
                )
            ]
        )
        return self._settle(changes, at)

    def packaged(
        self,
        shipment_id: UUID,
        store: Store,
        labels: Sequence[str],
        package_count: int | None,
        *,
        dropoff_address: str,
        dropoff_area: str,
        customer_first_name: str,
        at: datetime,
    ) -> Changes:
        shipment = self._shipment_of_store(shipment_id, store.store_id)
        shipment.status = transition(shipment.status, S.PACKAGED)
        shipment.labels = list(labels)
        shipment.package_count = package_count or len(labels)
        shipment.ready_at = at
        shipment.packed = merge_lines(
            [(line.sku, line.quantity) for line in self.lines_of(shipment.id)]
        )
        changes = Changes(
            stock=[
                StockMove(StockMoveKind.TAKE, shipment.store_id, sku, quantity)
                for sku, quantity in shipment.packed.items()
            ],
            events=[
                OrderReadyForPickup(
                    order_id=self.id,
                    shipment_id=shipment.id,
                    mall_id=self.mall_id,
                    mall_name=store.mall_name,
                    store_id=store.store_id,
                    store_name=store.name,
                    pickup_instructions=store.pickup_instructions,
                    pickup=GeoPoint(lat=store.location.lat, lng=store.location.lng),
                    package_count=shipment.package_count,
                    labels=shipment.labels,
                    ready_at=at,
                    deliver_by=self.deliver_by,
                    window_starts_at=self.window_starts_at,
                    dropoff=GeoPoint(lat=self.dropoff_lat, lng=self.dropoff_lng),
                    dropoff_address=dropoff_address,
                    dropoff_area=dropoff_area,
                    customer_first_name=customer_first_name,
                    pin_sha256=self.pin_sha256,
                )
            ],
        )
        return self._settle(changes, at)

    def out_of_stock(
        self,
        shipment_id: UUID,
        store_id: str,
        skus: Sequence[str],
        rerouting: Rerouting,
        *,
        at: datetime,
    ) -> Changes:
        """The store lacks these SKUs: their lines go to other stores of the mall, or are
        dropped when none has them. Before or after packing, and after a pickup that left
        packages behind."""
        shipment = self._shipment_of_store(shipment_id, store_id)
        self._check_reroutable(shipment)
        live = self.lines_of(shipment.id)
        missing = [line for line in live if line.sku in set(skus)]
        unknown = sorted(set(skus) - {line.sku for line in live})
        if unknown or not missing:
            raise LineNotInShipment(unknown or list(skus))
        if shipment.status is S.PICKED_UP and len(missing) == len(live):
            # The driver holds packages of it: something of it was there.
            raise LineNotInShipment(list(skus))
        changes = Changes()
        for line in missing:
            if shipment.status in HOLDING_STOCK:
                changes.stock.append(
                    StockMove(StockMoveKind.RELEASE, shipment.store_id, line.sku, line.quantity)
                )
            elif shipment.packed.get(line.sku, 0) > 0:
                written_off = min(line.quantity, shipment.packed[line.sku])
                shipment.packed[line.sku] -= written_off
                changes.stock.append(
                    StockMove(StockMoveKind.WRITE_OFF, shipment.store_id, line.sku, written_off)
                )
            changes.stock.append(StockMove(StockMoveKind.ZERO, shipment.store_id, line.sku, 0))
        self._reroute(shipment, missing, rerouting, changes, reason="out_of_stock")
        return self._settle(changes, at)

    def store_cancelled(
        self, shipment_id: UUID, store_id: str, reason: str, rerouting: Rerouting, *, at: datetime
    ) -> Changes:
        """The store cannot fill its part at all: everything goes to other stores of the mall."""
        shipment = self._shipment_of_store(shipment_id, store_id)
        if shipment.status not in (S.PLACED, S.ACCEPTED, S.PACKAGED):
            raise IllegalTransition(shipment.status.value, S.REJECTED_BY_STORE.value)
        changes = Changes()
        changes.stock += self._release_holds(shipment)
        if shipment.was_packed:
            # The store keeps what it packed and calls it off itself: it is back on its shelf.
            shipment.restocked_at = at
            changes.stock += self._restock_moves(shipment)
        self._reroute(
            shipment,
            self.lines_of(shipment.id),
            rerouting,
            changes,
            reason=f"store_cancelled: {reason}".strip(": "),
        )
        return self._settle(changes, at)

    def restocked(self, shipment_id: UUID, store_id: str, *, at: datetime) -> Changes:
        """The store confirms goods that came back are on its shelf again."""
        shipment = self._shipment_of_store(shipment_id, store_id)
        if not shipment.is_restock_due:
            raise IllegalTransition(shipment.status.value, "restocked")
        shipment.restocked_at = at
        return self._settle(Changes(stock=self._restock_moves(shipment)), at)

    def expire_unaccepted(
        self, shipment_id: UUID, rerouting: Rerouting, *, at: datetime
    ) -> Changes:
        """The store did not accept in time: the shipment goes to other stores of the mall."""
        shipment = self.shipment(shipment_id)
        if shipment is None or shipment.status is not S.PLACED:
            raise IllegalTransition(
                shipment.status.value if shipment else "unknown", S.REJECTED_BY_STORE.value
            )
        changes = Changes(notices=[StoreNotice(shipment.id, "order.cancelled")])
        changes.stock += self._release_holds(shipment)
        self._reroute(
            shipment, self.lines_of(shipment.id), rerouting, changes, reason="not_accepted_in_time"
        )
        return self._settle(changes, at)

    def _reroute(
        self,
        shipment: Shipment,
        missing: list[Line],
        rerouting: Rerouting,
        changes: Changes,
        *,
        reason: str,
    ) -> None:
        """Moves lines (whose hold at `shipment`'s store is already released) to other stores
        of the mall; drops what none can fill; rejects the shipment once it has no lines."""
        cart = merge_lines([(line.sku, line.quantity) for line in missing])
        exclude = self.tried_store_ids() | {shipment.store_id}
        candidates = [c for c in rerouting.candidates if c.store_id not in exclude]
        dropoff = Point(self.dropoff_lat, self.dropoff_lng)
        try:
            assignments = choose_stores(cart, candidates, dropoff)
        except SoldOut:
            assignments = []
            for sku, quantity in cart.items():
                try:
                    assignments += choose_stores({sku: quantity}, candidates, dropoff)
                except SoldOut:
                    continue
                # The next SKU must not count on the stock this one just took.
                candidates = _minus(candidates, assignments[-1])
        moved: set[str] = set()
        for store_id in dict.fromkeys(a.store_id for a in assignments):
            quantities = {
                sku: q
                for a in assignments
                if a.store_id == store_id
                for sku, q in a.quantities.items()
            }
            target = Shipment(
                id=rerouting.new_id(), order_id=self.id, store_id=store_id, status=S.PLACED
            )
            self.shipments.append(target)
            changes.stock += [
                StockMove(StockMoveKind.RESERVE, store_id, sku, quantity)
                for sku, quantity in quantities.items()
            ]
            for line in missing:
                if line.sku in quantities:
                    line.shipment_id = target.id
                    moved.add(line.sku)
            changes.events.append(
                OrderLineRerouted(
                    order_id=self.id,
                    mall_id=self.mall_id,
                    from_shipment_id=shipment.id,
                    from_store_id=shipment.store_id,
                    to_shipment_id=target.id,
                    to_store_id=store_id,
                    lines=[ShipmentLine(sku=s, quantity=q) for s, q in quantities.items()],
                )
            )
            changes.notices.append(StoreNotice(target.id, "order.created"))
        dropped = [line for line in missing if line.sku not in moved]
        for line in dropped:
            line.is_cancelled = True
            self.total_cents -= line.quantity * line.unit_price_cents
        if dropped:
            changes.timeline.append(TimelineNote("item_unavailable", ITEM_UNAVAILABLE))
        if not self.lines_of(shipment.id):
            shipment.status = transition(shipment.status, S.REJECTED_BY_STORE)
            # Dispatch and the driver know packed shipments: they must drop its stops.
            is_order_gone = order_status(s.status for s in self.shipments) is S.CANCELLED
            if shipment.was_packed or is_order_gone:
                changes.events.append(
                    OrderCancelled(
                        order_id=self.id,
                        mall_id=self.mall_id,
                        shipment_ids=[shipment.id],
                        reason=reason if not moved else "rerouted",
                    )
                )


def _minus(candidates: Sequence[Candidate], taken: Assignment) -> list[Candidate]:
    return [
        c
        if c.store_id != taken.store_id
        else Candidate(
            store_id=c.store_id,
            mall_id=c.mall_id,
            location=c.location,
            available={
                sku: free - taken.quantities.get(sku, 0) for sku, free in c.available.items()
            },
            load=c.load,
        )
        for c in candidates
    ]
