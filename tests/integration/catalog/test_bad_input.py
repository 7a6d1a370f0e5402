"""Odd or hostile retailer input gets a 4xx problem and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from tests.integration.catalog.conftest import Catalog
from tests.integration.catalog.test_retailer import a_stocked_row, batch


def a_product(**overrides: Any) -> dict[str, Any]:
    return {
        "sku": "NEW-SKU-1",
        "gtin": "00012345678905",
        "title": "Linen shirt",
        "brand": "Brisa",
        "category": "apparel",
        "price_cents": 2499,
        **overrides,
    }


async def scalar(catalog: Catalog, sql: str, **params: Any) -> Any:
    async with catalog.db.begin() as tx:
        return (await tx.execute(text(sql), params)).scalar()


@pytest.mark.parametrize("price_cents", [2**31, 2**31 + 5, 2**63, 10**30])
async def test_a_price_too_large_for_the_column_is_a_422(
    catalog: Catalog, price_cents: int
) -> None:
    retailer_id = catalog.seed.retailers[0].id

    resp = await catalog.api.put(
        "/v1/retailer/products",
        json={"products": [a_product(price_cents=price_cents)]},
        headers=catalog.key_of(retailer_id),
    )

    assert resp.status_code == 422, resp.text
    assert [e["field"] for e in resp.json()["errors"]] == ["products.0.price_cents"]
    assert await scalar(catalog, "SELECT count(*) FROM products WHERE sku = 'NEW-SKU-1'") == 0


@pytest.mark.parametrize("mode", ["snapshot", "delta"])
@pytest.mark.parametrize("quantity", [2**31, 2**40, -(2**31) - 1])
async def test_a_quantity_too_large_for_the_column_is_a_422(
    catalog: Catalog, mode: str, quantity: int
) -> None:
    retailer_id, store_id, sku = a_stocked_row(catalog)

    resp = await catalog.api.post(
        "/v1/retailer/inventory",
        json=batch(mode, [{"store_id": store_id, "sku": sku, "quantity": quantity}]),
        headers=catalog.key_of(retailer_id),
    )

    assert resp.status_code == 422, resp.text
    assert [e["field"] for e in resp.json()["errors"]] == ["rows.0.quantity"]


async def test_deltas_that_add_up_past_the_largest_count_are_a_422(catalog: Catalog) -> None:
    retailer_id, store_id, sku = a_stocked_row(catalog)
    row = {"store_id": store_id, "sku": sku, "quantity": 1_000_000}
    first = await catalog.api.post(
        "/v1/retailer/inventory",
        json=batch("snapshot", [row]),
        headers=catalog.key_of(retailer_id),
    )

    more = await catalog.api.post(
        "/v1/retailer/inventory",
        json=batch("delta", [{**row, "quantity": 1}], minutes=2),
        headers=catalog.key_of(retailer_id),
    )

    assert first.status_code == 200, first.text
    assert more.status_code == 422, more.text
    assert [e["field"] for e in more.json()["errors"]] == ["rows[0]"]
    held = await scalar(
        catalog,
        "SELECT quantity FROM inventory WHERE store_id = :s AND sku = :k",
        s=store_id,
        k=sku,
    )
    assert held == 1_000_000


@pytest.mark.parametrize("field", ["title", "brand", "category"])
async def test_nul_characters_in_product_text_are_a_422(catalog: Catalog, field: str) -> None:
    retailer_id = catalog.seed.retailers[0].id

    resp = await catalog.api.put(
        "/v1/retailer/products",
        json={"products": [a_product(**{field: "Linen\x00shirt"})]},
        headers=catalog.key_of(retailer_id),
    )

    assert resp.status_code == 422, resp.text
    assert [e["field"] for e in resp.json()["errors"]] == [f"products.0.{field}"]


async def test_nul_characters_in_a_store_id_are_a_422(catalog: Catalog) -> None:
    retailer_id, _, sku = a_stocked_row(catalog)

    resp = await catalog.api.post(
        "/v1/retailer/inventory",
        json=batch("delta", [{"store_id": "st\x00", "sku": sku, "quantity": 1}]),
        headers=catalog.key_of(retailer_id),
    )

    assert resp.status_code == 422, resp.text
