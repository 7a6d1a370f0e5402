"""Body size limits, per-caller rate limits and CORS, on the real apps over ASGI (the requests
here are refused or answered before any database or broker is needed)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from catalog_service.app import create_app as create_catalog
from catalog_service.settings import CatalogSettings
from driver_service.app import create_app as create_driver
from driver_service.settings import DriverSettings
from order_service.app import create_app as create_order
from order_service.settings import OrderSettings
from shared.settings import describe_settings_error

UNUSED_DB = "postgresql+asyncpg://u@127.0.0.1:1/unused"
MB = 1_048_576
CHUNK = 64 * 1024


@dataclass
class Upload:
    """A body that counts how much of it the server pulled."""

    size: int
    sent: int = 0

    async def chunks(self) -> AsyncIterator[bytes]:
        while self.sent < self.size:
            piece = b"x" * min(CHUNK, self.size - self.sent)
            self.sent += len(piece)
            yield piece


def client(app: FastAPI, address: str = "203.0.113.7") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


def order_app() -> FastAPI:
    return create_order(OrderSettings(database_url=UNUSED_DB))


@pytest.mark.parametrize("declared", [True, False])
async def test_a_200_mb_checkout_without_a_token_is_413_without_reading_it(
    declared: bool,
) -> None:
    upload = Upload(200 * MB)
    headers = {"content-type": "application/json"}
    if declared:
        headers["content-length"] = str(upload.size)

    async with client(order_app()) as api:
        resp = await api.post("/v1/checkout", content=upload.chunks(), headers=headers)

    assert resp.status_code == 413, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["code"] == "payload_too_large"
    assert "1048576 bytes" in resp.json()["detail"]
    # Declared: refused before a byte is read. Streamed: refused once past the limit.
    assert upload.sent <= (0 if declared else MB + 2 * CHUNK)


async def test_a_body_within_the_limit_goes_on_to_authentication() -> None:
    async with client(order_app()) as api:
        resp = await api.post("/v1/checkout", content=b"{}" + b" " * 1000)

    assert resp.status_code == 401


@pytest.mark.parametrize("declared", [True, False])
async def test_a_proof_photo_is_capped_while_it_streams(declared: bool) -> None:
    settings = DriverSettings(database_url=UNUSED_DB, max_photo_bytes=2 * MB)
    boundary = "proofboundary"
    head = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; "
        'filename="p.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
    ).encode()
    upload = Upload(50 * MB)

    async def body() -> AsyncIterator[bytes]:
        yield head
        async for piece in upload.chunks():
            yield piece

    headers = {"content-type": f"multipart/form-data; boundary={boundary}"}
    if declared:
        headers["content-length"] = str(len(head) + upload.size)
    async with client(create_driver(settings)) as api:
        resp = await api.post(
            "/v1/routes/5d0e7b3a-9c41-4f2e-8b6d-0a1f2e3d4c5b/stops/"
            "f2e3d4c5-b6a7-4f8e-9d0c-1b2c3d4e5f60/deliver",
            content=body(),
            headers=headers,
        )

    assert resp.status_code == 413, resp.text
    assert resp.json()["code"] == "payload_too_large"
    assert upload.sent <= (0 if declared else 2 * MB + 65_536 + 2 * CHUNK)


async def test_other_driver_routes_keep_the_small_limit() -> None:
    settings = DriverSettings(database_url=UNUSED_DB, max_photo_bytes=5 * MB)

    async with client(create_driver(settings)) as api:
        resp = await api.post(
            "/v1/drivers",
            content=b"{" + b" " * (2 * MB) + b"}",
            headers={"content-type": "application/json"},
        )

    assert resp.status_code == 413


@pytest.mark.parametrize("fast_path", [True, False])
async def test_same_day_queries_are_limited_per_client_address_with_retry_after(
    fast_path: bool,
) -> None:
    app = create_catalog(CatalogSettings(database_url=UNUSED_DB, rate_limit_same_day="3/minute"))
    if fast_path:
        # A loaded read model: valid queries take the catalog's fast path, not the route.
        app.state.catalog.ready.set()
    params = {"lat": 36.12, "lng": -115.17}

    async with client(app) as busy, client(app, "198.51.100.20") as other:
        answers = [await busy.get("/v1/catalog/same-day", params=params) for _ in range(4)]
        elsewhere = await other.get("/v1/catalog/same-day", params=params)

    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    limited = answers[-1]
    assert limited.headers["content-type"] == "application/problem+json"
    assert limited.json()["code"] == "rate_limited"
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert f"retry in {limited.headers['retry-after']} seconds" in limited.json()["detail"]
    assert elsewhere.status_code == 200


def test_a_rate_that_is_not_one_is_refused_naming_the_variable() -> None:
    with pytest.raises(ValidationError) as refused:
        OrderSettings(database_url=UNUSED_DB, rate_limit_checkout="lots")

    assert "ORDER_RATE_LIMIT_CHECKOUT expected a rate such as 60/minute" in (
        describe_settings_error(refused.value, "ORDER_")
    )


@pytest.mark.parametrize("service", ["catalog", "order"])
async def test_cors_allows_only_the_storefront_origins_from_settings(service: str) -> None:
    origin = "https://shop.mall-to-home.example"
    if service == "catalog":
        app = create_catalog(CatalogSettings(database_url=UNUSED_DB, cors_origins=[origin]))
        path = "/v1/catalog/same-day"
    else:
        app = create_order(OrderSettings(database_url=UNUSED_DB, cors_origins=[origin]))
        path = "/v1/checkout"
    preflight = {"access-control-request-method": "POST"}

    async with client(app) as api:
        allowed = await api.options(path, headers={"origin": origin, **preflight})
        refused = await api.options(path, headers={"origin": "https://evil.example", **preflight})

    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == origin
    assert "access-control-allow-origin" not in refused.headers


async def test_without_origins_in_settings_no_cors_headers_are_sent() -> None:
    app = create_catalog(CatalogSettings(database_url=UNUSED_DB))

    async with client(app) as api:
        resp = await api.get(
            "/v1/catalog/same-day",
            params={"lat": 36.12, "lng": -115.17},
            headers={"origin": "https://shop.mall-to-home.example"},
        )

    assert resp.status_code == 200
    assert "access-control-allow-origin" not in resp.headers


def test_every_operation_with_a_body_documents_400_and_413() -> None:
    for app in (order_app(), create_driver(DriverSettings(database_url=UNUSED_DB))):
        for path, item in app.openapi()["paths"].items():
            for method, operation in item.items():
                if "requestBody" in operation:
                    assert {"400", "413"} <= set(operation["responses"]), f"{method} {path}"


def test_every_error_is_documented_as_the_problem_document_it_is() -> None:
    # Found by make fuzz: FastAPI documented errors as application/json, and its own 422.
    apps = [
        order_app(),
        create_driver(DriverSettings(database_url=UNUSED_DB)),
        create_catalog(CatalogSettings(database_url=UNUSED_DB)),
    ]
    for app in apps:
        for path, item in app.openapi()["paths"].items():
            for method, operation in item.items():
                for status, response in operation["responses"].items():
                    text = str(response.get("content", {}))
                    # /readyz's 503 is its Health document, by design; every other error is
                    # a problem.
                    if "Problem" in text or "HTTPValidationError" in text:
                        assert list(response["content"]) == ["application/problem+json"], (
                            f"{method} {path} {status}"
                        )
                        schema = response["content"]["application/problem+json"]["schema"]
                        assert schema == {"$ref": "#/components/schemas/Problem"}


async def test_a_body_that_is_not_utf8_json_is_a_400_problem_saying_what_to_send() -> None:
    # Found by make fuzz: an undocumented 400 with "There was an error parsing the body".
    async with client(order_app()) as api:
        resp = await api.post(
            "/v1/checkout",
            content=b"]\xff\xfeVD",
            headers={"content-type": "application/json", "authorization": "Bearer x"},
        )

    assert resp.status_code == 400, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    assert "UTF-8 JSON" in resp.json()["detail"]
