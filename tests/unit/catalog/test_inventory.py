from __future__ import annotations

from datetime import timedelta

import pytest

from catalog_service.domain.inventory import (
    BatchMode,
    InventoryRejected,
    InventoryRow,
    StockChange,
    StockLevel,
    check_rows,
    plan_batch,
)
from tests.unit.catalog.conftest import AS_OF

LATER = AS_OF + timedelta(minutes=5)


def test_each_bad_row_is_named_with_its_reason() -> None:
    rows = [
        InventoryRow("s1", "A", 1),
        InventoryRow("s9", "A", 1),
        InventoryRow("s1", "Z", 1),
        InventoryRow("s1", "B", -2),
        InventoryRow("s1", "A", 3),
    ]

    errors = check_rows(rows, BatchMode.SNAPSHOT, {"s1"}, {"A", "B"})

    assert [(e.index, e.message.split(";")[0]) for e in errors] == [
        (1, "store is not one of this retailer's stores"),
        (2, "unknown SKU"),
        (3, "negative quantity"),
        (4, "duplicate row for this store and SKU"),
    ]


def test_a_negative_delta_is_a_change_not_an_error() -> None:
    assert check_rows([InventoryRow("s1", "A", -2)], BatchMode.DELTA, {"s1"}, {"A"}) == []


def test_a_delta_adds_to_the_stored_count() -> None:
    stored = {("s1", "A"): StockLevel(5, AS_OF)}

    plan = plan_batch([InventoryRow("s1", "A", -2)], BatchMode.DELTA, LATER, stored)

    assert plan.changes == [StockChange("s1", "A", 3, LATER)]


def test_a_row_older_than_the_stored_count_is_ignored() -> None:
    stored = {("s1", "A"): StockLevel(5, LATER)}

    plan = plan_batch([InventoryRow("s1", "A", -2)], BatchMode.DELTA, AS_OF, stored)

    assert plan.changes == []
    assert plan.ignored_stale == 1


def test_a_delta_below_zero_rejects_the_batch() -> None:
    stored = {("s1", "A"): StockLevel(1, AS_OF)}

    with pytest.raises(InventoryRejected) as rejected:
        plan_batch([InventoryRow("s1", "A", -2)], BatchMode.DELTA, LATER, stored)

    assert [e.index for e in rejected.value.errors] == [0]


def test_a_snapshot_zeroes_the_store_s_unlisted_skus_but_not_other_stores() -> None:
    stored = {
        ("s1", "A"): StockLevel(5, AS_OF),
        ("s1", "B"): StockLevel(4, AS_OF),
        ("s1", "C"): StockLevel(0, AS_OF),
        ("s2", "B"): StockLevel(7, AS_OF),
    }

    plan = plan_batch([InventoryRow("s1", "A", 2)], BatchMode.SNAPSHOT, LATER, stored)

    assert plan.changes == [StockChange("s1", "A", 2, LATER), StockChange("s1", "B", 0, LATER)]
