from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from order_service.domain.errors import SoldOut
from order_service.domain.selection import Candidate, choose_stores
from shared.geo import Point

HOME = Point(36.10, -115.17)
NEAR = Point(36.11, -115.17)
FAR = Point(36.30, -115.17)


def store(
    store_id: str, available: dict[str, int], at: Point = NEAR, mall: str = "m1", load: int = 0
) -> Candidate:
    return Candidate(store_id=store_id, mall_id=mall, location=at, available=available, load=load)


def test_one_store_for_the_whole_cart_beats_two_nearer_ones() -> None:
    chosen = choose_stores(
        {"a": 1, "b": 1},
        [
            store("near-a", {"a": 5}),
            store("near-b", {"b": 5}),
            store("far-ab", {"a": 1, "b": 1}, FAR),
        ],
        HOME,
    )

    assert [c.store_id for c in chosen] == ["far-ab"]
    assert chosen[0].quantities == {"a": 1, "b": 1}


def test_the_nearest_of_the_stores_that_can_fill_the_cart_wins() -> None:
    chosen = choose_stores({"a": 2}, [store("far", {"a": 9}, FAR), store("near", {"a": 2})], HOME)

    assert [c.store_id for c in chosen] == ["near"]


def test_the_least_loaded_store_breaks_a_distance_tie() -> None:
    chosen = choose_stores(
        {"a": 1}, [store("busy", {"a": 3}, load=4), store("quiet", {"a": 3}, load=1)], HOME
    )

    assert [c.store_id for c in chosen] == ["quiet"]


def test_a_store_without_enough_units_is_not_chosen() -> None:
    chosen = choose_stores({"a": 3}, [store("short", {"a": 2}), store("full", {"a": 3}, FAR)], HOME)

    assert [c.store_id for c in chosen] == ["full"]


def test_a_cart_no_single_store_has_is_split_within_one_mall_only() -> None:
    chosen = choose_stores(
        {"a": 1, "b": 1},
        [
            store("m1-a", {"a": 1}, mall="m1"),
            store("m2-b", {"b": 1}, mall="m2"),
            store("m2-a", {"a": 1}, FAR, mall="m2"),
        ],
        HOME,
    )

    assert {c.store_id for c in chosen} == {"m2-a", "m2-b"}
    assert {c.mall_id for c in chosen} == {"m2"}


def test_a_cart_only_two_malls_together_could_fill_is_sold_out() -> None:
    with pytest.raises(SoldOut) as raised:
        choose_stores(
            {"a": 1, "b": 1},
            [store("x", {"a": 1}, mall="m1"), store("y", {"b": 1}, mall="m2")],
            HOME,
        )

    assert sorted(raised.value.skus) == ["a", "b"]


def test_sold_out_names_the_sku_nobody_has() -> None:
    with pytest.raises(SoldOut) as raised:
        choose_stores({"a": 1, "b": 4}, [store("x", {"a": 1, "b": 3})], HOME)

    assert raised.value.skus == ["b"]


SKUS = ["a", "b", "c"]
stocks = st.lists(
    st.tuples(
        st.sampled_from(["m1", "m2"]),
        st.dictionaries(st.sampled_from(SKUS), st.integers(0, 4)),
        st.floats(36.0, 36.3),
        st.integers(0, 5),
    ),
    min_size=1,
    max_size=5,
)
carts = st.dictionaries(st.sampled_from(SKUS), st.integers(1, 3), min_size=1)


@given(stocks, carts)
def test_any_choice_fills_the_cart_from_one_mall_with_the_fewest_stores(
    raw: list[tuple[str, dict[str, int], float, int]], cart: dict[str, int]
) -> None:
    candidates = [
        store(f"s{i}", available, Point(lat, -115.17), mall, load)
        for i, (mall, available, lat, load) in enumerate(raw)
    ]
    by_id = {c.store_id: c for c in candidates}

    try:
        chosen = choose_stores(cart, candidates, HOME)
    except SoldOut:
        chosen = []

    if chosen:
        assert len({c.mall_id for c in chosen}) == 1
        filled: dict[str, int] = {}
        for part in chosen:
            for sku, quantity in part.quantities.items():
                assert by_id[part.store_id].available.get(sku, 0) >= quantity
                filled[sku] = filled.get(sku, 0) + quantity
        assert filled == cart
    smallest = _smallest_group(cart, candidates)
    assert len(chosen) == smallest


def _smallest_group(cart: dict[str, int], candidates: list[Candidate]) -> int:
    """Brute force: the fewest stores of one mall that hold every line in full (0 if none)."""
    for size in range(1, len(cart) + 1):
        for group in itertools.combinations(candidates, size):
            if len({c.mall_id for c in group}) == 1 and all(
                any(c.available.get(sku, 0) >= q for c in group) for sku, q in cart.items()
            ):
                return size
    return 0
