"""The invariant on generated catalogs, through the same rendering as the HTTP API.

1. No byte of any same-day response contains a store or mall id, name, address or phone.
2. Two catalogs that differ only in which stores of a mall hold the stock (same totals) give
   byte-identical responses.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from catalog_service.api.catalog import render_same_day
from catalog_service.domain.listings import CatalogReadModel, SameDayQuery
from shared.geo import Point
from shared.malls import pilot_malls
from tests.unit.catalog.conftest import AS_OF, NOW, a_model, a_product, a_runtime

WORDS = ("Linen", "Shirt", "Candle", "Navy", "Soft", "Mug", "Classic", "Boot", "Wool", "Tee")
CATEGORIES = ("apparel", "home", "shoes")
MALL_IDS = tuple(m.id for m in pilot_malls())
# Shrinking a failing catalog takes minutes (every step rebuilds a read model): a failure is
# reported as generated.
NO_SHRINK = (Phase.explicit, Phase.reuse, Phase.generate)
_name = st.text(string.ascii_lowercase, min_size=10, max_size=14)


@dataclass(frozen=True)
class GenStore:
    id: str
    mall_id: str
    name: str
    address: str
    phone: str


@st.composite
def stores(draw: st.DrawFn, mall_ids: tuple[str, ...] = MALL_IDS) -> list[GenStore]:
    names = draw(st.lists(_name, min_size=len(mall_ids), max_size=10, unique=True))
    return [
        GenStore(
            id=f"store-{name}",
            mall_id=mall_ids[index % len(mall_ids)],
            name=f"{name.title()} Outlet",
            address=f"Unit {100 + index}, {name.title()} Plaza",
            phone=f"(702) 555-{draw(st.integers(1000, 9999))}",
        )
        for index, name in enumerate(names)
    ]


@st.composite
def products(draw: st.DrawFn) -> list[tuple[str, str, str]]:
    count = draw(st.integers(1, 25))
    return [
        (
            f"SKU-{n:04d}",
            " ".join(draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=3))),
            draw(st.sampled_from(CATEGORIES)),
        )
        for n in range(count)
    ]


@st.composite
def queries(draw: st.DrawFn) -> SameDayQuery:
    mall = draw(st.sampled_from(pilot_malls()))
    point = Point(
        draw(st.floats(mall.lat - 0.35, mall.lat + 0.35)),
        draw(st.floats(mall.lng - 0.35, mall.lng + 0.35)),
    )
    return SameDayQuery(
        point,
        text=draw(st.none() | st.sampled_from([w.lower() for w in WORDS])),
        category=draw(st.none() | st.sampled_from(CATEGORIES)),
        limit=draw(st.integers(1, 30)),
    )


def build(items: list[tuple[str, str, str]]) -> CatalogReadModel:
    model = a_model()
    for sku, title, category in items:
        model.upsert_product(a_product(sku, title, category))
    return model


def every_page(model: CatalogReadModel, query: SameDayQuery) -> list[bytes]:
    runtime = a_runtime(model)
    bodies = []
    after = None
    while True:
        page = model.query(
            SameDayQuery(query.point, query.text, query.category, after, query.limit), NOW
        )
        bodies.append(render_same_day(runtime, page))
        if page.last_key is None:
            return bodies
        after = page.last_key


def secrets_of(generated: list[GenStore]) -> set[str]:
    found = {value for m in pilot_malls() for value in (m.id, m.name, m.address)}
    for store in generated:
        found |= {store.id, store.name, store.address, store.phone}
    return {value.casefold() for value in found}


@settings(max_examples=40, deadline=None, database=None, phases=NO_SHRINK)
@given(data=st.data(), items=products(), generated=stores())
def test_no_response_byte_names_a_store_or_mall(
    data: st.DataObject, items: list[tuple[str, str, str]], generated: list[GenStore]
) -> None:
    model = build(items)
    for store in generated:
        for sku, _, _ in items:
            quantity = data.draw(st.integers(0, 6))
            if quantity:
                model.apply_stock(store.id, store.mall_id, sku, quantity, AS_OF)
    secrets = secrets_of(generated)

    for query in data.draw(st.lists(queries(), min_size=1, max_size=4)):
        for body in every_page(model, query):
            text = body.decode().casefold()
            assert [s for s in secrets if s in text] == []


def split(data: st.DataObject, total: int, parts: int) -> list[int]:
    cuts = sorted(
        data.draw(st.lists(st.integers(0, total), min_size=parts - 1, max_size=parts - 1))
    )
    bounds = [0, *cuts, total]
    return [bounds[i + 1] - bounds[i] for i in range(parts)]


@settings(max_examples=30, deadline=None, database=None, phases=NO_SHRINK)
@given(
    data=st.data(),
    items=products(),
    first=stores(),
    second=stores(),
)
def test_catalogs_differing_only_in_which_stores_hold_the_stock_look_the_same(
    data: st.DataObject,
    items: list[tuple[str, str, str]],
    first: list[GenStore],
    second: list[GenStore],
) -> None:
    one, other = build(items), build(items)
    for mall_id in MALL_IDS:
        here_one = [s for s in first if s.mall_id == mall_id]
        here_other = [s for s in second if s.mall_id == mall_id]
        for sku, _, _ in items:
            total = data.draw(st.integers(0, 12))
            for model, holders in ((one, here_one), (other, here_other)):
                for store, quantity in zip(holders, split(data, total, len(holders)), strict=True):
                    model.apply_stock(store.id, mall_id, sku, quantity, AS_OF)

    for query in data.draw(st.lists(queries(), min_size=1, max_size=4)):
        assert every_page(one, query) == every_page(other, query)
