from __future__ import annotations

from catalog_service.domain.seed import _BRANDS, _RETAILER_FIRST, generate_catalog
from shared.malls import pilot_malls


def test_the_same_seed_and_size_give_the_same_catalog() -> None:
    assert generate_catalog(pilot_malls(), 5, 200) == generate_catalog(pilot_malls(), 5, 200)


def test_every_mall_gets_the_asked_number_of_stores_and_skus_are_shared() -> None:
    catalog = generate_catalog(pilot_malls(), 12, 800)

    per_mall = {m.id: sum(1 for s in catalog.stores if s.mall_id == m.id) for m in pilot_malls()}
    assert set(per_mall.values()) == {12}
    assert len({p.sku for p in catalog.products}) == 800
    assert len({s.id for s in catalog.stores}) == len(catalog.stores)
    vegas = {s.id for s in catalog.stores if s.mall_id == "fashion-show-las-vegas"}
    holders: dict[str, int] = {}
    for stock in catalog.stock:
        if stock.store_id in vegas:
            holders[stock.sku] = holders.get(stock.sku, 0) + 1
    assert max(holders.values()) >= 2


def test_no_brand_spells_a_retailer_name() -> None:
    catalog = generate_catalog(pilot_malls(), 30, 500)
    text = " ".join(p.title for p in catalog.products).casefold()

    assert not set(_BRANDS) & set(_RETAILER_FIRST)
    assert not [r.name for r in catalog.retailers if r.name.casefold() in text]


def test_a_stock_scale_multiplies_each_quantity_and_keeps_the_rest() -> None:
    plain = generate_catalog(pilot_malls(), 4, 120)
    scaled = generate_catalog(pilot_malls(), 4, 120, stock_scale=50)

    assert scaled.products == plain.products and scaled.stores == plain.stores
    assert [(s.store_id, s.sku) for s in scaled.stock] == [(s.store_id, s.sku) for s in plain.stock]
    assert [s.quantity for s in scaled.stock] == [s.quantity * 50 for s in plain.stock]
