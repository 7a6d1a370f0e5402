from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from catalog_service.domain.listings import SameDayQuery
from catalog_service.domain.promise import CapacityRule, NoPromise
from shared.geo import Point
from tests.unit.catalog.conftest import (
    AS_OF,
    LAS_VEGAS,
    NOW,
    STRIP,
    a_model,
    a_product,
    pilot_rules,
)


def test_one_sku_in_several_stores_is_one_listing_with_the_summed_stock() -> None:
    model = a_model()
    model.upsert_product(a_product("A"))
    model.apply_stock("s1", LAS_VEGAS, "A", 2, AS_OF)
    model.apply_stock("s2", LAS_VEGAS, "A", 3, AS_OF)

    page = model.query(SameDayQuery(STRIP), NOW)

    assert [(i.product.sku, i.quantity) for i in page.items] == [("A", 5)]


def test_an_older_count_does_not_replace_a_newer_one() -> None:
    model = a_model()
    model.upsert_product(a_product("A"))
    model.apply_stock("s1", LAS_VEGAS, "A", 0, AS_OF + timedelta(minutes=1))

    assert not model.apply_stock("s1", LAS_VEGAS, "A", 9, AS_OF)
    assert model.query(SameDayQuery(STRIP), NOW).items == []


def test_an_inactive_store_s_stock_is_not_offered() -> None:
    model = a_model()
    model.upsert_product(a_product("A"))
    model.apply_stock("s1", LAS_VEGAS, "A", 2, AS_OF)

    model.set_store("s1", LAS_VEGAS, is_active=False)

    assert model.query(SameDayQuery(STRIP), NOW).items == []
    model.set_store("s1", LAS_VEGAS, is_active=True)
    assert len(model.query(SameDayQuery(STRIP), NOW).items) == 1


def test_stock_that_arrives_before_its_product_is_listed_once_the_product_comes() -> None:
    model = a_model()
    model.apply_stock("s1", LAS_VEGAS, "A", 2, AS_OF)
    assert model.query(SameDayQuery(STRIP), NOW).items == []

    model.upsert_product(a_product("A"))

    assert len(model.query(SameDayQuery(STRIP), NOW).items) == 1


def test_pages_walk_the_listing_in_title_order() -> None:
    model = a_model()
    for n, title in enumerate(["Zebra Mug", "apple Tee", "Mango Hat", "Kiwi Cap", "Fig Bag"]):
        model.upsert_product(a_product(f"S{n}", title))
        model.apply_stock("s1", LAS_VEGAS, f"S{n}", 1, AS_OF)

    titles: list[str] = []
    after = None
    while True:
        page = model.query(SameDayQuery(STRIP, after=after, limit=2), NOW)
        titles += [i.product.title for i in page.items]
        if page.last_key is None:
            break
        after = page.last_key

    assert titles == ["apple Tee", "Fig Bag", "Kiwi Cap", "Mango Hat", "Zebra Mug"]


def test_text_and_category_filter_the_listing() -> None:
    model = a_model()
    model.upsert_product(a_product("A", "Linen Shirt", "apparel"))
    model.upsert_product(a_product("B", "Soy Candle", "home"))
    for sku in "AB":
        model.apply_stock("s1", LAS_VEGAS, sku, 1, AS_OF)

    by_text = model.query(SameDayQuery(STRIP, text="linen"), NOW)
    by_category = model.query(SameDayQuery(STRIP, category="HOME"), NOW)

    assert [i.product.sku for i in by_text.items] == ["A"]
    assert [i.product.sku for i in by_category.items] == ["B"]


def test_a_point_far_from_every_mall_gets_the_outside_reason() -> None:
    page = a_model().query(SameDayQuery(Point(40.5, -120.0)), NOW)

    assert page.items == []
    assert page.reason is NoPromise.OUTSIDE_AREA


def test_a_paused_mall_offers_tomorrow_and_without_hours_tomorrow_gives_the_paused_reason() -> None:
    model = a_model()
    model.upsert_product(a_product("A"))
    model.apply_stock("s1", LAS_VEGAS, "A", 1, AS_OF)

    model.set_capacity(LAS_VEGAS, None, CapacityRule(same_day_enabled=False))

    page = model.query(SameDayQuery(STRIP), NOW)
    assert page.reason is None
    assert [i.promise.human for i in page.items] == ["Arrives tomorrow by 12 PM"]
    only_today = [
        replace(rules, hours={"wed": rules.hours["wed"]}) for rules in pilot_rules()
    ]
    paused = a_model(only_today)
    paused.upsert_product(a_product("A"))
    paused.apply_stock("s1", LAS_VEGAS, "A", 1, AS_OF)
    paused.set_capacity(LAS_VEGAS, None, CapacityRule(same_day_enabled=False))
    assert paused.query(SameDayQuery(STRIP), NOW).reason is NoPromise.PAUSED


def test_a_renamed_product_moves_to_its_new_place() -> None:
    model = a_model()
    model.upsert_product(a_product("A", "Beta"))
    model.upsert_product(a_product("B", "Gamma"))
    for sku in "AB":
        model.apply_stock("s1", LAS_VEGAS, sku, 1, AS_OF)

    model.upsert_product(a_product("A", "Zeta"))

    page = model.query(SameDayQuery(STRIP), NOW)
    assert [i.product.title for i in page.items] == ["Gamma", "Zeta"]
