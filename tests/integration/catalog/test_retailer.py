from __future__ import annotations

from datetime import timedelta
from typing import Any

from catalog_service.store import catalog as queries
from shared.events.catalog import InventoryChanged
from tests.integration.catalog.conftest import (
    LAS_VEGAS_STRIP,
    WEDNESDAY_MORNING,
    Catalog,
)
from tests.support import EventTap, eventually

LAS_VEGAS = "fashion-show-las-vegas"


def a_stocked_row(catalog: Catalog) -> tuple[str, str, str]:
    """(retailer id, store id, sku) of a Las Vegas store holding a SKU no other store holds."""
    holders: dict[str, list[str]] = {}
    for stock in catalog.seed.stock:
        if stock.quantity > 0:
            holders.setdefault(stock.sku, []).append(stock.store_id)
    store_of = {s.id: s for s in catalog.seed.stores}
    for sku, store_ids in sorted(holders.items()):
        vegas = [s for s in store_ids if store_of[s].mall_id == LAS_VEGAS]
        if len(vegas) == 1:
            return store_of[vegas[0]].retailer_id, vegas[0], sku
    raise AssertionError("the seed has no SKU held by one Las Vegas store")


async def listed_skus(catalog: Catalog) -> set[str]:
    resp = await catalog.api.get("/v1/catalog/same-day", params={**LAS_VEGAS_STRIP, "limit": 100})
    return {item["sku"] for item in resp.json()["items"]}


def batch(mode: str, rows: list[dict[str, Any]], minutes: int = 1) -> dict[str, Any]:
    as_of = WEDNESDAY_MORNING + timedelta(minutes=minutes)
    return {"mode": mode, "as_of": as_of.isoformat(), "rows": rows}


async def test_a_delta_that_sells_out_a_sku_publishes_the_change_and_delists_it(
    catalog: Catalog, tap: EventTap
) -> None:
    retailer_id, store_id, sku = a_stocked_row(catalog)
    held = next(s.quantity for s in catalog.seed.stock if (s.store_id, s.sku) == (store_id, sku))
    assert sku in await listed_skus(catalog)

    resp = await catalog.api.post(
        "/v1/retailer/inventory",
        json=batch("delta", [{"store_id": store_id, "sku": sku, "quantity": -held}]),
        headers=catalog.key_of(retailer_id),
    )

    assert resp.status_code == 200
    assert resp.json() == {"applied": 1, "ignored_stale": 0}
    changed = await tap.next(InventoryChanged, where=lambda e: e.sku == sku)
    assert (changed.payload.store_id, changed.payload.quantity) == (store_id, 0)
    assert changed.key == store_id

    async def delisted() -> bool:
        return sku not in await listed_skus(catalog)

    await eventually(delisted, within=10)


async def test_a_delta_older_than_the_stored_count_is_ignored(catalog: Catalog) -> None:
    retailer_id, store_id, sku = a_stocked_row(catalog)
    headers = catalog.key_of(retailer_id)
    row = {"store_id": store_id, "sku": sku, "quantity": 5}
    newer = await catalog.api.post(
        "/v1/retailer/inventory", json=batch("snapshot", [row], minutes=10), headers=headers
    )
    assert newer.json()["applied"] >= 1

    stale = await catalog.api.post(
        "/v1/retailer/inventory",
        json=batch("delta", [{**row, "quantity": -5}], minutes=5),
        headers=headers,
    )

    assert stale.status_code == 200
    assert stale.json() == {"applied": 0, "ignored_stale": 1}
    async with catalog.db.begin() as tx:
        levels = await queries.stock_levels(tx, [(store_id, sku)])
    assert levels[(store_id, sku)].quantity == 5


async def test_a_snapshot_sets_what_it_does_not_list_to_zero(catalog: Catalog) -> None:
    retailer_id, store_id, sku = a_stocked_row(catalog)
    others = [s for s in catalog.seed.stock if s.store_id == store_id and s.sku != sku]

    resp = await catalog.api.post(
        "/v1/retailer/inventory",
        json=batch("snapshot", [{"store_id": store_id, "sku": sku, "quantity": 4}]),
        headers=catalog.key_of(retailer_id),
    )

    assert resp.status_code == 200
    assert resp.json()["applied"] == 1 + sum(1 for s in others if s.quantity > 0)


async def test_a_bad_batch_is_rejected_whole_naming_each_bad_row(catalog: Catalog) -> None:
    retailer_id, store_id, sku = a_stocked_row(catalog)
    foreign_store = next(s.id for s in catalog.seed.stores if s.retailer_id != retailer_id)
    rows = [
        {"store_id": store_id, "sku": sku, "quantity": 9},
        {"store_id": store_id, "sku": "SKU-NOPE", "quantity": 1},
        {"store_id": store_id, "sku": sku, "quantity": 2},
        {"store_id": foreign_store, "sku": sku, "quantity": 1},
        {"store_id": store_id, "sku": catalog.seed.products[1].sku, "quantity": -1},
    ]

    resp = await catalog.api.post(
        "/v1/retailer/inventory",
        json=batch("snapshot", rows),
        headers=catalog.key_of(retailer_id),
    )

    assert resp.status_code == 422
    assert resp.headers["content-type"] == "application/problem+json"
    problem = resp.json()
    assert problem["code"] == "bad_rows"
    fields = {e["field"] for e in problem["errors"]}
    assert fields == {"rows[1]", "rows[2]", "rows[3]", "rows[4]"}
    async with catalog.db.begin() as tx:
        levels = await queries.stock_levels(tx, [(store_id, sku)])
    assert levels[(store_id, sku)].quantity != 9


async def test_a_missing_or_wrong_api_key_is_a_401_problem(catalog: Catalog) -> None:
    for headers in ({}, {"X-API-Key": "rk_wrong"}):
        resp = await catalog.api.get("/v1/retailer/stores", headers=headers)
        assert resp.status_code == 401
        assert resp.json()["code"] == "unauthorized"


async def test_a_retailer_sees_only_its_own_stores(catalog: Catalog) -> None:
    retailer = catalog.seed.retailers[0]

    resp = await catalog.api.get("/v1/retailer/stores", headers=catalog.key_of(retailer.id))

    assert {s["id"] for s in resp.json()} == {
        s.id for s in catalog.seed.stores if s.retailer_id == retailer.id
    }


async def test_an_upserted_product_shows_its_new_title_and_a_foreign_sku_is_refused(
    catalog: Catalog,
) -> None:
    retailer_id, _, sku = a_stocked_row(catalog)
    product = next(p for p in catalog.seed.products if p.sku == sku)
    other = next(p for p in catalog.seed.products if p.retailer_id != retailer_id)
    changed = {
        "sku": sku,
        "gtin": product.gtin,
        "title": "Aaa First Renamed Product",
        "brand": product.brand,
        "category": product.category,
        "price_cents": 4200,
    }

    resp = await catalog.api.put(
        "/v1/retailer/products",
        json={"products": [changed]},
        headers=catalog.key_of(retailer_id),
    )
    refused = await catalog.api.put(
        "/v1/retailer/products",
        json={"products": [{**changed, "sku": other.sku}]},
        headers=catalog.key_of(retailer_id),
    )

    assert resp.status_code == 200
    first = (await catalog.api.get("/v1/catalog/same-day", params=LAS_VEGAS_STRIP)).json()["items"][
        0
    ]
    assert (first["sku"], first["title"], first["price_cents"]) == (
        sku,
        "Aaa First Renamed Product",
        4200,
    )
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["products[0]"]
