"""The internal endpoints name stores: without the internal token they answer 401 and nothing
else, whatever the offer id."""

from __future__ import annotations

from sqlalchemy import text

from shared.db import Db
from tests.integration.catalog.conftest import INTERNAL_TOKEN, LAS_VEGAS_STRIP, Catalog
from tests.integration.catalog.test_invariant_http import identifiers, leaks

REFUSED_HEADERS: dict[str, dict[str, str]] = {
    "no header": {},
    "wrong token": {"Authorization": "Bearer not-the-catalog-internal-token-0123456789"},
    "token with a suffix": {"Authorization": f"Bearer {INTERNAL_TOKEN}x"},
    "token without the scheme": {"Authorization": INTERNAL_TOKEN},
    "another scheme": {"Authorization": f"Basic {INTERNAL_TOKEN}"},
}


# The relay stamps `sent_at` on outbox rows in the background: the events written are what count.
ROW_TEXT = {"outbox": "t.event_id::text"}


async def fingerprint(db: Db) -> dict[str, str]:
    """Every table's rows, hashed: equal before and after means nothing was written."""
    async with db.begin() as tx:
        tables = (
            (await tx.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")))
            .scalars()
            .all()
        )
        hashes: dict[str, str] = {}
        for table in tables:
            row = ROW_TEXT.get(table, "t::text")
            hashes[table] = (
                await tx.execute(
                    text(
                        f"SELECT md5(coalesce(string_agg({row}, '|' ORDER BY {row}), ''))"
                        f' FROM "{table}" t'
                    )
                )
            ).scalar_one()
        return hashes


async def an_offer_id(catalog: Catalog) -> str:
    resp = await catalog.api.get("/v1/catalog/same-day", params=LAS_VEGAS_STRIP)
    offer_id: str = resp.json()["items"][0]["offer_id"]
    return offer_id


async def test_without_the_internal_token_both_endpoints_are_401_problems(
    catalog: Catalog,
) -> None:
    offer_id = await an_offer_id(catalog)
    secrets = identifiers((await catalog.api.get("/v1/stores", headers=catalog.internal)).json())
    before = await fingerprint(catalog.db)

    for case, headers in REFUSED_HEADERS.items():
        for path in (
            "/v1/stores",
            f"/v1/offers/{offer_id}",
            "/v1/offers/not-an-offer",
            f"/v1/offers?offer_id={offer_id}",
        ):
            resp = await catalog.api.get(path, headers=headers)

            assert resp.status_code == 401, (case, path)
            assert resp.headers["content-type"] == "application/problem+json"
            assert resp.headers["www-authenticate"] == "Bearer"
            body = resp.json()
            assert body["status"] == 401
            assert body["code"] == "unauthorized"
            assert body["type"] == "urn:mall-to-home:problem:unauthorized"
            assert "Authorization: Bearer" in body["detail"]
            assert set(body) <= {
                "type",
                "title",
                "status",
                "detail",
                "instance",
                "code",
                "trace_id",
            }
            assert leaks(resp, secrets) == [], (case, path)

    assert await fingerprint(catalog.db) == before


async def test_with_the_internal_token_both_endpoints_answer(catalog: Catalog) -> None:
    offer_id = await an_offer_id(catalog)

    stores = await catalog.api.get("/v1/stores", headers=catalog.internal)
    offer = await catalog.api.get(f"/v1/offers/{offer_id}", headers=catalog.internal)

    assert stores.status_code == 200
    assert {s["id"] for s in stores.json()["stores"]} == {s.id for s in catalog.seed.stores}
    assert offer.status_code == 200
    assert offer.json()["offer_id"] == offer_id
    assert offer.json()["stores"]


async def test_the_customer_api_needs_no_internal_token(catalog: Catalog) -> None:
    resp = await catalog.api.get("/v1/catalog/same-day", params=LAS_VEGAS_STRIP)

    assert resp.status_code == 200


async def test_the_openapi_document_declares_the_bearer_scheme_on_internal_operations(
    catalog: Catalog,
) -> None:
    spec = (await catalog.api.get("/openapi.json")).json()

    scheme = spec["components"]["securitySchemes"]["InternalToken"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    internal = [("/v1/stores", "get"), ("/v1/offers/{offer_id}", "get"), ("/v1/offers", "get")]
    for path, method in internal:
        operation = spec["paths"][path][method]
        assert operation["security"] == [{"InternalToken": []}]
        assert "401" in operation["responses"]
    customer = spec["paths"]["/v1/catalog/same-day"]["get"]
    assert "InternalToken" not in str(customer.get("security", []))
