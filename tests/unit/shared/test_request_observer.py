"""The request observer counts, times and traces requests at a cost of microseconds."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from shared.metrics import RequestObserver, ServiceMetrics


def an_app(metrics: ServiceMetrics) -> FastAPI:
    app = FastAPI()

    @app.get("/v1/things/{thing_id}")
    async def thing(thing_id: int) -> dict[str, int]:
        return {"id": thing_id}

    app.add_middleware(RequestObserver, metrics=metrics)
    return app


async def test_label_children_are_looked_up_once_per_route_and_status() -> None:
    metrics = ServiceMetrics("unit")
    lookups: list[tuple[Any, ...]] = []
    labels = metrics.requests.labels

    def counting_labels(*values: Any) -> Any:
        lookups.append(values)
        return labels(*values)

    metrics.requests.labels = counting_labels  # type: ignore[method-assign, assignment]
    transport = httpx.ASGITransport(app=an_app(metrics))
    async with httpx.AsyncClient(transport=transport, base_url="http://unit") as client:
        for thing_id in range(20):
            assert (await client.get(f"/v1/things/{thing_id}")).status_code == 200
        assert (await client.get("/v1/things/not-a-number")).status_code == 422

    assert lookups == [
        ("unit", "GET", "/v1/things/{thing_id}", "200"),
        ("unit", "GET", "/v1/things/{thing_id}", "422"),
    ]
    ok = {"service": "unit", "method": "GET", "route": "/v1/things/{thing_id}", "status": "200"}
    assert metrics.registry.get_sample_value("http_requests_total", ok) == 20
    timed = {"service": "unit", "route": "/v1/things/{thing_id}"}
    assert metrics.registry.get_sample_value("http_request_duration_seconds_count", timed) == 21


async def test_every_response_carries_its_trace_id() -> None:
    transport = httpx.ASGITransport(app=an_app(ServiceMetrics("unit")))
    async with httpx.AsyncClient(transport=transport, base_url="http://unit") as client:
        traced = await client.get(
            "/v1/things/1",
            headers={"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
        )
        fresh = await client.get("/v1/things/1")

    assert traced.headers["x-trace-id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert len(fresh.headers["x-trace-id"]) == 32
    int(fresh.headers["x-trace-id"], 16)
