"""Random sequences of every step an order takes, from the customer, the stores, an operator,
the driver and the timer, racing ones included; after each step: goods with one party, stock
held equals stock promised, packed stock accounted for, and a refused step changes nothing."""

from __future__ import annotations

import copy
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from uuid import UUID

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from order_service.domain.errors import DomainError
from order_service.domain.order import (
    HOLDER,
    HOLDING_STOCK,
    Changes,
    Order,
    Party,
    Rerouting,
    S,
    StockMoveKind,
    Store,
    order_status,
)
from order_service.domain.selection import Assignment, Candidate
from shared.geo import Point

MALL = "mall-1"
STORES = {
    "st-a": Point(36.100, -115.170),
    "st-b": Point(36.101, -115.171),
    "st-c": Point(36.102, -115.172),
}
SKUS = ("sku-1", "sku-2")
START = datetime(2026, 11, 25, 19, 0, tzinfo=UTC)
HOME = Point(36.12, -115.15)


def store(store_id: str) -> Store:
    return Store(store_id, MALL, "Mall", f"Store {store_id}", STORES[store_id], "desk")


class OrderLifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = START
        # (store, sku) -> shelf count, held, packed-and-gone
        self.quantity: dict[tuple[str, str], int] = {}
        self.reserved: dict[tuple[str, str], int] = defaultdict(int)
        self.taken: dict[tuple[str, str], int] = defaultdict(int)
        self.recounted: set[tuple[str, str]] = set()
        self.initial: dict[tuple[str, str], int] = {}

    @initialize(
        stock=st.lists(st.integers(0, 4), min_size=6, max_size=6),
        quantities=st.lists(st.integers(1, 2), min_size=1, max_size=2),
    )
    def place(self, stock: list[int], quantities: list[int]) -> None:
        pairs = [(s, k) for s in STORES for k in SKUS]
        self.quantity = {pair: count for pair, count in zip(pairs, stock, strict=True)}
        for sku, quantity in zip(SKUS, quantities, strict=False):
            self.quantity[("st-a", sku)] = max(self.quantity[("st-a", sku)], quantity)
        self.initial = dict(self.quantity)
        lines = [
            (f"off-{sku}", sku, sku.upper(), quantity, 1000)
            for sku, quantity in zip(SKUS, quantities, strict=False)
        ]
        order, changes = Order.place(
            order_id=uuid.uuid4(),
            customer_id="c-1",
            assignments=[
                Assignment("st-a", MALL, {sku: quantity for _, sku, _, quantity, _ in lines})
            ],
            lines=lines,
            deliver_by=START + timedelta(hours=3),
            currency="USD",
            address={},
            dropoff=HOME,
            contact_name="Ada Lovelace",
            contact_phone="+17025550100",
            pin=None,
            pin_sha256=None,
            new_id=uuid.uuid4,
            at=self.now,
        )
        self.order = order
        self.apply(changes)

    # --- harness ------------------------------------------------------------------------------

    def apply(self, changes: Changes) -> None:
        for move in changes.stock:
            pair, q = (move.store_id, move.sku), move.quantity
            if move.kind is StockMoveKind.RESERVE:
                self.reserved[pair] += q
            elif move.kind is StockMoveKind.RELEASE:
                self.reserved[pair] -= q
            elif move.kind is StockMoveKind.TAKE:
                self.reserved[pair] -= q
                self.quantity[pair] -= q
                self.taken[pair] += q
            elif move.kind is StockMoveKind.RESTOCK:
                self.quantity[pair] += q
                self.taken[pair] -= q
            elif move.kind is StockMoveKind.UNRESTOCK:
                self.quantity[pair] -= q
                self.taken[pair] += q
            elif move.kind is StockMoveKind.WRITE_OFF:
                self.taken[pair] -= q
                self.recounted.add(pair)
            elif move.kind is StockMoveKind.ZERO:
                self.quantity[pair] = 0
                self.recounted.add(pair)

    def rerouting(self) -> Rerouting:
        return Rerouting(
            candidates=[
                Candidate(
                    store_id=store_id,
                    mall_id=MALL,
                    location=point,
                    available={
                        sku: max(0, self.quantity[(store_id, sku)] - self.reserved[(store_id, sku)])
                        for sku in SKUS
                    },
                )
                for store_id, point in STORES.items()
            ]
        )

    def step(self, action: str, shipment_index: int, **kwargs: object) -> None:
        """One domain call on the order; a refused one must leave it exactly as it was."""
        self.now += timedelta(minutes=1)
        shipment = self.order.shipments[shipment_index % len(self.order.shipments)]
        before = copy.deepcopy(self.order)
        try:
            changes = self.call(action, shipment.id, shipment.store_id, **kwargs)
        except DomainError:
            assert self.order == before
            return
        self.apply(changes)

    def call(self, action: str, sid: UUID, store_id: str, **kw: object) -> Changes:
        at = self.now
        order = self.order
        if action == "accepted":
            return order.accepted(sid, store_id, at=at)
        if action == "packaged":
            return order.packaged(
                sid,
                store(store_id),
                ["L1", "L2"],
                None,
                dropoff_address="1 Main St",
                dropoff_area="LV 89109",
                customer_first_name="Ada",
                at=at,
            )
        if action == "out_of_stock":
            return order.out_of_stock(sid, store_id, [str(kw["sku"])], self.rerouting(), at=at)
        if action == "store_cancelled":
            return order.store_cancelled(sid, store_id, "closing", self.rerouting(), at=at)
        if action == "restocked":
            return order.restocked(sid, store_id, at=at)
        if action == "expired":
            return order.expire_unaccepted(sid, self.rerouting(), at=at)
        if action == "cancel":
            return order.cancel_by_customer(at=at)
        if action == "operator_cancel":
            return order.cancel_shipment(sid, "customer called", at=at)
        if action == "picked_up":
            missing = ["L2"] if kw.get("partial") else []
            return order.picked_up(sid, uuid.uuid4(), missing, at=at)
        if action == "delivered":
            return order.delivered(sid, at=at)
        if action == "failed":
            return order.delivery_failed(sid, at=at)
        if action == "returned":
            return order.returned(sid, at=at)
        if action == "tip":
            return order.tip(int(str(kw["cents"])), at=at)
        raise AssertionError(action)

    # --- rules: every operation, in any order ------------------------------------------------

    index = st.integers(0, 3)

    @rule(i=index)
    def store_accepts(self, i: int) -> None:
        self.step("accepted", i)

    @rule(i=index)
    def store_packs(self, i: int) -> None:
        self.step("packaged", i)

    @rule(i=index, sku=st.sampled_from(SKUS))
    def store_lacks(self, i: int, sku: str) -> None:
        self.step("out_of_stock", i, sku=sku)

    @rule(i=index)
    def store_cancels(self, i: int) -> None:
        self.step("store_cancelled", i)

    @rule(i=index)
    def store_restocks(self, i: int) -> None:
        self.step("restocked", i)

    @rule(i=index)
    def timer_expires(self, i: int) -> None:
        self.step("expired", i)

    @rule(i=index)
    def customer_cancels(self, i: int) -> None:
        self.step("cancel", i)

    @rule(i=index)
    def operator_cancels_one_shipment(self, i: int) -> None:
        self.step("operator_cancel", i)

    @rule(i=index, partial=st.booleans())
    def driver_picks_up(self, i: int, partial: bool) -> None:
        self.step("picked_up", i, partial=partial)

    @rule(i=index)
    def driver_delivers(self, i: int) -> None:
        self.step("delivered", i)

    @rule(i=index)
    def driver_fails(self, i: int) -> None:
        self.step("failed", i)

    @rule(i=index)
    def driver_hands_back(self, i: int) -> None:
        self.step("returned", i)

    @rule(cents=st.sampled_from([300, 500]))
    def customer_tips(self, cents: int) -> None:
        self.step("tip", 0, cents=cents)

    @rule(i=index)
    def store_accepts_and_packs(self, i: int) -> None:
        self.step("accepted", i)
        self.step("packaged", i)

    # Steps from different sides arriving in any order: the races of the issue.
    @rule(
        i=index,
        steps=st.sampled_from(
            [
                ("cancel", "picked_up"),
                ("cancel", "restocked", "picked_up"),
                ("out_of_stock", "picked_up"),
                ("store_cancelled", "picked_up"),
                ("cancel", "delivered"),
                ("cancel", "failed", "returned"),
                ("operator_cancel", "picked_up"),
                ("operator_cancel", "restocked", "picked_up"),
                ("operator_cancel", "delivered"),
                ("operator_cancel", "cancel"),
                ("picked_up_partial", "out_of_stock"),
            ]
        ).flatmap(st.permutations),
        sku=st.sampled_from(SKUS),
    )
    def race(self, i: int, steps: list[str], sku: str) -> None:
        for action in steps:
            partial = action == "picked_up_partial"
            self.step("picked_up" if partial else action, i, sku=sku, partial=partial)

    # --- invariants ---------------------------------------------------------------------------

    @invariant()
    def goods_are_with_exactly_one_party(self) -> None:
        for shipment in self.order.shipments:
            assert shipment.holder in Party
            assert (shipment.holder is Party.DRIVER) == (
                shipment.status in (S.PICKED_UP, S.DELIVERY_FAILED, S.RETURNING)
            )
            # Goods off the shelf are packed: neither held nor on a shelf as well.
            if shipment.holder is not Party.STORE:
                assert shipment.is_off_the_shelf
            assert HOLDER[shipment.status] is shipment.holder

    @invariant()
    def stock_held_equals_stock_promised(self) -> None:
        promised: dict[tuple[str, str], int] = defaultdict(int)
        for shipment in self.order.shipments:
            if shipment.status in HOLDING_STOCK:
                for line in self.order.lines_of(shipment.id):
                    promised[(shipment.store_id, line.sku)] += line.quantity
        for pair in self.quantity:
            assert self.reserved[pair] == promised[pair], pair
            assert self.reserved[pair] >= 0

    @invariant()
    def packed_stock_is_accounted_for(self) -> None:
        off_shelf: dict[tuple[str, str], int] = defaultdict(int)
        for shipment in self.order.shipments:
            if shipment.is_off_the_shelf:
                for sku, quantity in shipment.packed.items():
                    off_shelf[(shipment.store_id, sku)] += quantity
        for pair in self.quantity:
            assert self.taken[pair] == off_shelf[pair], pair
            if pair not in self.recounted:
                # available + reserved + packed-or-sold: nothing appears or vanishes.
                assert self.quantity[pair] + self.taken[pair] == self.initial[pair], pair

    @invariant()
    def the_customer_sees_the_shipments_status(self) -> None:
        assert self.order.status == order_status(s.status for s in self.order.shipments)
        live = [line for line in self.order.lines if not line.is_cancelled]
        assert self.order.total_cents == sum(x.quantity * x.unit_price_cents for x in live)


OrderLifecycle.TestCase.settings = settings(
    max_examples=200, stateful_step_count=40, deadline=None
)
TestOrderLifecycle = OrderLifecycle.TestCase
