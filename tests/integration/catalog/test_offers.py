from __future__ import annotations

from datetime import datetime

from tests.integration.catalog.conftest import LAS_VEGAS_STRIP, Catalog


async def test_an_offer_resolves_to_the_stocked_stores_of_one_mall(catalog: Catalog) -> None:
    listing = (await catalog.api.get("/v1/catalog/same-day", params=LAS_VEGAS_STRIP)).json()[
        "items"
    ][0]

    resp = await catalog.api.get(f"/v1/offers/{listing['offer_id']}", headers=catalog.internal)

    assert resp.status_code == 200
    offer = resp.json()
    assert offer["sku"] == listing["sku"]
    assert offer["price_cents"] == listing["price_cents"]
    assert datetime.fromisoformat(offer["deliver_by"]) == datetime.fromisoformat(
        listing["deliver_by"]
    )
    assert offer["stores"]
    assert {s["mall_id"] for s in offer["stores"]} == {"fashion-show-las-vegas"}
    held = {
        s.store_id: s.quantity
        for s in catalog.seed.stock
        if s.sku == listing["sku"] and s.quantity > 0
    }
    assert {s["store_id"]: s["quantity"] for s in offer["stores"]}.items() <= held.items()
    assert sum(s["quantity"] for s in offer["stores"]) == catalog.runtime.model.total_in_stock(
        "fashion-show-las-vegas", listing["sku"]
    )


async def test_an_unknown_or_forged_offer_is_a_404_problem(catalog: Catalog) -> None:
    listing = (await catalog.api.get("/v1/catalog/same-day", params=LAS_VEGAS_STRIP)).json()[
        "items"
    ][0]
    forged = listing["offer_id"][:-3] + "AAA"

    for offer_id in (forged, "not-an-offer"):
        resp = await catalog.api.get(f"/v1/offers/{offer_id}", headers=catalog.internal)
        assert resp.status_code == 404
        assert resp.headers["content-type"] == "application/problem+json"


async def test_the_directory_lists_every_mall_and_store(catalog: Catalog) -> None:
    resp = await catalog.api.get("/v1/stores", headers=catalog.internal)

    assert resp.status_code == 200
    body = resp.json()
    assert {m["id"] for m in body["malls"]} == {
        "fashion-show-las-vegas",
        "chandler-fashion-center",
        "tysons-corner-center",
        "baybrook-friendswood",
    }
    assert {s["id"] for s in body["stores"]} == {s.id for s in catalog.seed.stores}
    assert all(s["phone"] and s["address"] for s in body["stores"])
