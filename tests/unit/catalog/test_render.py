"""A same-day page is put together from per-product fragments kept in the read model."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from catalog_service.api.catalog import ListingView, SameDayView, product_fragment, render_same_day
from catalog_service.domain.listings import CatalogReadModel, Product, SameDayQuery
from tests.unit.catalog.conftest import (
    AS_OF,
    LAS_VEGAS,
    NOW,
    STRIP,
    a_product,
    a_runtime,
    pilot_rules,
)


def a_counting_model(rendered: list[str]) -> CatalogReadModel:
    def render(product: Product) -> bytes:
        rendered.append(product.sku)
        return product_fragment(product)

    return CatalogReadModel(pilot_rules(), h3_resolution=7, fragment=render)


def test_each_product_is_rendered_once_however_many_pages_show_it() -> None:
    rendered: list[str] = []
    model = a_counting_model(rendered)
    for sku in ("A", "B", "C"):
        model.upsert_product(a_product(sku))
        model.apply_stock("s1", LAS_VEGAS, sku, 5, AS_OF)
    runtime = a_runtime(model)

    for _ in range(3):
        render_same_day(runtime, model.query(SameDayQuery(STRIP), NOW))

    assert sorted(rendered) == ["A", "B", "C"]


def test_a_changed_product_is_rendered_again() -> None:
    rendered: list[str] = []
    model = a_counting_model(rendered)
    model.upsert_product(a_product("A", title="Plain Tee"))
    model.apply_stock("s1", LAS_VEGAS, "A", 5, AS_OF)
    model.upsert_product(a_product("A", title="Striped Tee"))

    body = json.loads(render_same_day(a_runtime(model), model.query(SameDayQuery(STRIP), NOW)))

    assert rendered == ["A", "A"]
    assert body["items"][0]["title"] == "Striped Tee"


def test_the_page_has_the_documented_fields_in_order() -> None:
    model = a_counting_model([])
    model.upsert_product(a_product("A"))
    model.apply_stock("s1", LAS_VEGAS, "A", 2, AS_OF)  # low stock
    model.upsert_product(a_product("B", title="Wool Sweater"))
    model.apply_stock("s1", LAS_VEGAS, "B", 40, AS_OF)

    raw = render_same_day(a_runtime(model), model.query(SameDayQuery(STRIP, limit=1), NOW))

    page = SameDayView.model_validate_json(raw)
    assert [item.stock_status.value for item in page.items] == ["low"]
    assert page.next_cursor is not None
    assert list(json.loads(raw)["items"][0]) == list(ListingView.model_fields)


@settings(max_examples=40, deadline=None)
@given(
    stock=st.dictionaries(st.sampled_from("ABCDEFGHIJKL"), st.integers(0, 9), min_size=1),
    limit=st.integers(1, 6),
    pages=st.integers(1, 4),
)
def test_a_one_mall_page_is_the_page_the_general_walk_gives(
    stock: dict[str, int], limit: int, pages: int
) -> None:
    model = a_counting_model([])
    for sku, quantity in stock.items():
        model.upsert_product(a_product(sku, title=f"Item {sku.lower()}"))
        model.apply_stock("s1", LAS_VEGAS, sku, quantity, AS_OF)
    after = None
    for _ in range(pages):
        # A blank text filters nothing but takes the general merging walk.
        fast = model.query(SameDayQuery(STRIP, after=after, limit=limit), NOW)
        general = model.query(SameDayQuery(STRIP, text=" ", after=after, limit=limit), NOW)
        assert fast == general
        if fast.last_key is None:
            break
        after = fast.last_key
