from __future__ import annotations

from datetime import datetime
from typing import Any

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
    # The promise is the first of the mall's windows; slots follow, today's then tomorrow's.
    windows = offer["windows"]
    assert windows[0]["kind"] == "asap"
    assert datetime.fromisoformat(windows[0]["ends_at"]) == datetime.fromisoformat(
        offer["deliver_by"]
    )
    assert {w["kind"] for w in windows[1:]} == {"scheduled"}
    assert any(w["label"].startswith("tomorrow") for w in windows)
    held = {
        s.store_id: s.quantity
        for s in catalog.seed.stock
        if s.sku == listing["sku"] and s.quantity > 0
    }
    assert {s["store_id"]: s["quantity"] for s in offer["stores"]}.items() <= held.items()
    assert sum(s["quantity"] for s in offer["stores"]) == catalog.runtime.model.total_in_stock(
        "fashion-show-las-vegas", listing["sku"]
    )


async def test_an_offer_s_windows_are_for_the_point_asked_about_and_mall_level(
    catalog: Catalog,
) -> None:
    listing = (await catalog.api.get("/v1/catalog/same-day", params=LAS_VEGAS_STRIP)).json()[
        "items"
    ][0]
    far_point = {"lat": LAS_VEGAS_STRIP["lat"] + 0.12, "lng": LAS_VEGAS_STRIP["lng"]}

    near = await catalog.api.get(
        f"/v1/offers/{listing['offer_id']}", params=LAS_VEGAS_STRIP, headers=catalog.internal
    )
    far = await catalog.api.get(
        f"/v1/offers/{listing['offer_id']}", params=far_point, headers=catalog.internal
    )

    assert near.status_code == far.status_code == 200
    near_windows, far_windows = near.json()["windows"], far.json()["windows"]
    # A longer drive may push the first promise later; the slots are the mall's, the same.
    assert datetime.fromisoformat(far_windows[0]["ends_at"]) >= datetime.fromisoformat(
        near_windows[0]["ends_at"]
    )
    slots = [(w["starts_at"], w["ends_at"]) for w in near_windows if w["kind"] == "scheduled"]
    far_slots = [(w["starts_at"], w["ends_at"]) for w in far_windows if w["kind"] == "scheduled"]
    assert far_slots[-6:] == slots[-6:]


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


async def test_a_cart_s_offers_resolve_in_one_call_as_each_alone(catalog: Catalog) -> None:
    items = (await catalog.api.get("/v1/catalog/same-day", params=LAS_VEGAS_STRIP)).json()["items"]
    ids = [items[0]["offer_id"], items[1]["offer_id"], "bm8tc3VjaC1vZmZlcg", items[0]["offer_id"]]

    resp = await catalog.api.get(
        "/v1/offers",
        params={"offer_id": ids, **LAS_VEGAS_STRIP},
        headers=catalog.internal,
    )

    assert resp.status_code == 200, resp.text
    batch = resp.json()
    assert [o["offer_id"] for o in batch["offers"]] == ids[:2]
    assert batch["unknown"] == ["bm8tc3VjaC1vZmZlcg"]
    for offer in batch["offers"]:
        alone = await catalog.api.get(
            f"/v1/offers/{offer['offer_id']}", params=LAS_VEGAS_STRIP, headers=catalog.internal
        )
        # Alike but for the clock: an as-soon-as-possible window starts at the call's now.
        assert _without_now(alone.json()) == _without_now(offer)


def _without_now(offer: dict[str, Any]) -> dict[str, Any]:
    windows = [{k: v for k, v in w.items() if k != "starts_at"} for w in offer["windows"]]
    return {**offer, "windows": windows}


async def test_the_batch_of_offers_is_internal_and_bounded(catalog: Catalog) -> None:
    listing = (await catalog.api.get("/v1/catalog/same-day", params=LAS_VEGAS_STRIP)).json()[
        "items"
    ][0]

    anonymous = await catalog.api.get("/v1/offers", params={"offer_id": listing["offer_id"]})
    empty = await catalog.api.get("/v1/offers", headers=catalog.internal)
    too_many = await catalog.api.get(
        "/v1/offers", params={"offer_id": ["x"] * 51}, headers=catalog.internal
    )

    assert anonymous.status_code == 401
    assert "store" not in anonymous.text
    assert (empty.status_code, too_many.status_code) == (422, 422)
    assert empty.json()["errors"][0]["field"] == "offer_id"
