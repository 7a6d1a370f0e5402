"""The chaos run's counts, on hand-made facts: each one finds what it is meant to find."""

from __future__ import annotations

import uuid

from services.chaos.evidence import OutboxRow, Reconciliation
from services.chaos.reconcile import (
    count_duplicates,
    count_inversions,
    count_lost,
)
from services.chaos.states import _unexplained

GROUP = "dispatch.chaos.dispatch"


def a_row(
    row_id: int, event_type: str = "order.ready_for_pickup", key: str = "mall-1"
) -> OutboxRow:
    return OutboxRow("order", row_id, uuid.uuid4(), "orders", key, event_type, True)


def test_an_event_no_consumer_applied_or_never_published_is_lost() -> None:
    applied, unapplied, unpublished, unwanted = a_row(1), a_row(2), a_row(3), a_row(4, "x.y")
    rows = [applied, unapplied, unpublished, unwanted]
    on_topics = {str(r.event_id) for r in (applied, unapplied, unwanted)}
    inbox = {(GROUP, applied.event_id)}
    result = Reconciliation()

    lost = count_lost(rows, inbox, on_topics, {"order.ready_for_pickup": {GROUP}}, result)

    assert lost == 2
    assert any("not applied by dispatch.chaos.dispatch" in d for d in result.details)
    assert any("never reached its topic" in d for d in result.details)


def test_an_event_applied_twice_by_one_group_is_a_duplicate_effect() -> None:
    once, twice = uuid.uuid4(), uuid.uuid4()
    effects = [(GROUP, once), (GROUP, twice), ("order.chaos.events", twice), (GROUP, twice)]

    assert count_duplicates(effects, Reconciliation()) == 1


def test_an_event_applied_after_a_later_one_of_its_key_is_an_inversion() -> None:
    first, second, third, other_key = a_row(1), a_row(2), a_row(3), a_row(4, key="mall-2")
    effects = [(GROUP, r.event_id) for r in (first, third, other_key, second)]

    assert count_inversions([first, second, third, other_key], effects, Reconciliation()) == 1
    in_order = [(GROUP, r.event_id) for r in (first, second, other_key, third)]
    assert count_inversions([first, second, third, other_key], in_order, Reconciliation()) == 0


def test_an_open_order_is_stuck_only_when_its_state_contradicts_its_last_event() -> None:
    shipment = uuid.uuid4()

    assert _unexplained("accepted", None, {}, shipment) is None  # the store's turn
    assert _unexplained("packaged", None, {}, shipment) is not None  # dispatch never got it
    assert _unexplained("packaged", {"status": "pooled"}, {}, shipment) is None
    picked = {(shipment, "pickup"): "picked_up"}
    assert _unexplained("packaged", {"status": "routed"}, picked, shipment) is not None
    delivered = {(shipment, "pickup"): "picked_up", (shipment, "dropoff"): "delivered"}
    assert _unexplained("picked_up", {"status": "routed"}, delivered, shipment) is not None
    on_its_way = {(shipment, "pickup"): "picked_up", (shipment, "dropoff"): "pending"}
    assert _unexplained("picked_up", {"status": "routed"}, on_its_way, shipment) is None
