from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from order_service.catalog_client import CatalogClient, CatalogUnavailable, OfferNotFound

OFFER = {
    "offer_id": "o1",
    "sku": "s1",
    "title": "Thing",
    "price_cents": 100,
    "currency": "USD",
    "deliver_by": datetime(2026, 11, 25, 20, tzinfo=UTC).isoformat(),
    "stores": [],
    "delivery_area": {"lat": 36.1, "lng": -115.1, "radius_m": 30000},
}
FOUND = {"offers": [OFFER], "unknown": []}
TOKEN = "a-catalog-internal-token-for-the-unit-tests"


def client(
    handler: httpx.MockTransport | None = None, url: str = "http://catalog"
) -> CatalogClient:
    return CatalogClient(
        url,
        internal_token=TOKEN,
        timeout_seconds=0.5,
        attempts=3,
        backoff_seconds=0.0,
        transport=handler,
    )


async def test_every_call_carries_the_internal_token() -> None:
    seen: list[str | None] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("Authorization"))
        return httpx.Response(502) if len(seen) < 2 else httpx.Response(200, json=FOUND)

    await client(httpx.MockTransport(answer)).resolve_all(["o1"])

    assert seen == [f"Bearer {TOKEN}"] * 2


async def test_a_failing_catalog_is_retried_until_it_answers() -> None:
    calls: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(502) if len(calls) < 3 else httpx.Response(200, json=FOUND)

    offers = await client(httpx.MockTransport(answer)).resolve_all(["o1"])

    assert (offers["o1"].sku, len(calls)) == ("s1", 3)


async def test_an_unreachable_catalog_is_unavailable_after_the_last_attempt() -> None:
    with pytest.raises(CatalogUnavailable):
        await client(url="http://127.0.0.1:1").resolve_all(["o1"])


async def test_an_unknown_offer_is_not_retried() -> None:
    calls: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(200, json={"offers": [], "unknown": ["o1"]})

    with pytest.raises(OfferNotFound):
        await client(httpx.MockTransport(answer)).resolve_all(["o1"])
    assert len(calls) == 1


async def test_a_malformed_offer_counts_as_the_catalog_being_unavailable() -> None:
    transport = httpx.MockTransport(
        lambda request: httpx.Response(200, json={"offers": [{"offer_id": "o1"}]})
    )

    with pytest.raises(CatalogUnavailable):
        await client(transport).resolve_all(["o1"])


async def test_a_refused_token_is_unavailable_at_once_not_retried() -> None:
    calls: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(401)

    with pytest.raises(CatalogUnavailable, match="refused the token"):
        await client(httpx.MockTransport(answer)).resolve_all(["o1"])
    assert len(calls) == 1


@pytest.mark.parametrize("offer_id", ["../stores", "a\n", "x/y", "a b", "", "é", "a" * 201])
async def test_an_offer_id_outside_the_offer_format_is_unknown_without_a_call(
    offer_id: str,
) -> None:
    calls: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(200, json=FOUND)

    with pytest.raises(OfferNotFound):
        await client(httpx.MockTransport(answer)).resolve_all([offer_id])
    assert calls == []


async def test_a_cart_s_offers_are_asked_for_in_one_call_each_once() -> None:
    asked: list[list[str]] = []
    other = {**OFFER, "offer_id": "o2", "sku": "s2"}

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.params.get_list("offer_id"))
        return httpx.Response(200, json={"offers": [other, OFFER], "unknown": []})

    offers = await client(httpx.MockTransport(answer)).resolve_all(["o1", "o2", "o1"])

    assert asked == [["o1", "o2"]]
    assert [(k, v.sku) for k, v in offers.items()] == [("o1", "s1"), ("o2", "s2")]
