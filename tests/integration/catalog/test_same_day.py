from __future__ import annotations

from datetime import datetime, timedelta

from tests.integration.catalog.conftest import LAS_VEGAS_STRIP, NOWHERE, Catalog


async def test_a_point_near_a_mall_gets_items_with_a_local_promise(catalog: Catalog) -> None:
    resp = await catalog.api.get("/v1/catalog/same-day", params=LAS_VEGAS_STRIP)

    assert resp.status_code == 200
    body = resp.json()
    assert body["reason"] is None
    assert len(body["items"]) == 20
    first = body["items"][0]
    deliver_by = datetime.fromisoformat(first["deliver_by"])
    assert deliver_by.utcoffset() == timedelta(hours=-8)  # Las Vegas in November
    assert first["promise"].startswith("Arrives today by ")
    assert first["stock_status"] in {"in_stock", "low"}
    titles = [(i["title"].casefold(), i["sku"]) for i in body["items"]]
    assert titles == sorted(titles)


async def test_a_point_far_from_every_mall_gets_no_items_and_a_reason(catalog: Catalog) -> None:
    resp = await catalog.api.get("/v1/catalog/same-day", params=NOWHERE)

    assert resp.status_code == 200
    assert resp.json() == {"items": [], "next_cursor": None, "reason": "outside same-day area"}


async def test_pages_follow_each_other_without_repeats_until_the_end(catalog: Catalog) -> None:
    seen: list[str] = []
    params: dict[str, str | float] = {**LAS_VEGAS_STRIP, "limit": 7}
    while True:
        resp = await catalog.api.get("/v1/catalog/same-day", params=params)
        assert resp.status_code == 200
        body = resp.json()
        seen += [item["sku"] for item in body["items"]]
        if body["next_cursor"] is None:
            break
        params["cursor"] = body["next_cursor"]

    in_stock = {
        sku
        for sku in {s.sku for s in catalog.seed.stock}
        if catalog.runtime.model.total_in_stock("fashion-show-las-vegas", sku) > 0
    }
    assert len(seen) == len(set(seen))
    assert set(seen) == in_stock


async def test_text_and_category_narrow_the_listing(catalog: Catalog) -> None:
    category = catalog.seed.products[0].category

    resp = await catalog.api.get(
        "/v1/catalog/same-day", params={**LAS_VEGAS_STRIP, "category": category, "limit": 100}
    )

    items = resp.json()["items"]
    assert items
    assert {item["category"] for item in items} == {category}
    word = items[0]["brand"]
    by_text = await catalog.api.get(
        "/v1/catalog/same-day", params={**LAS_VEGAS_STRIP, "q": word.lower(), "limit": 100}
    )
    assert by_text.json()["items"]
    assert all(word in item["title"] for item in by_text.json()["items"])


async def test_a_tampered_cursor_is_a_400_problem(catalog: Catalog) -> None:
    first = await catalog.api.get("/v1/catalog/same-day", params={**LAS_VEGAS_STRIP, "limit": 2})
    cursor = first.json()["next_cursor"]
    tampered = cursor[:-2] + ("AA" if cursor[-2:] != "AA" else "BB")

    resp = await catalog.api.get(
        "/v1/catalog/same-day", params={**LAS_VEGAS_STRIP, "cursor": tampered}
    )

    assert resp.status_code == 400
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["code"] == "bad_cursor"


async def test_bad_coordinates_are_a_422_naming_the_field(catalog: Catalog) -> None:
    out_of_range = await catalog.api.get("/v1/catalog/same-day", params={"lat": 91, "lng": 0})
    missing = await catalog.api.get("/v1/catalog/same-day", params={"lat": 36.1})

    assert out_of_range.status_code == 422
    assert [e["field"] for e in out_of_range.json()["errors"]] == ["lat"]
    assert missing.status_code == 422
    assert [e["field"] for e in missing.json()["errors"]] == ["lng"]
