"""Valid same-day queries are served ahead of FastAPI's routing; they answer as the route does."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from shared.clock import Clock, clock, set_clock
from tests.integration.catalog.conftest import LAS_VEGAS_STRIP, Catalog

SAME_DAY = "/v1/catalog/same-day"


async def both(catalog: Catalog, params: dict[str, Any]) -> tuple[bytes, bytes]:
    fast = await catalog.api.get(SAME_DAY, params=params)
    # A parameter the fast path does not know sends the query on to FastAPI's route.
    routed = await catalog.api.get(SAME_DAY, params={**params, "unused": "1"})
    assert fast.status_code == routed.status_code == 200, (fast.text, routed.text)
    assert fast.headers["content-type"] == routed.headers["content-type"] == "application/json"
    return fast.content, routed.content


async def test_the_fast_path_and_the_declared_route_give_the_same_pages(catalog: Catalog) -> None:
    first, routed_first = await both(catalog, {**LAS_VEGAS_STRIP, "limit": 5})
    assert first == routed_first

    cursor = (await catalog.api.get(SAME_DAY, params={**LAS_VEGAS_STRIP, "limit": 5})).json()[
        "next_cursor"
    ]
    assert cursor
    second, routed_second = await both(catalog, {**LAS_VEGAS_STRIP, "limit": 5, "cursor": cursor})
    assert second == routed_second != first

    text, routed_text = await both(catalog, {**LAS_VEGAS_STRIP, "q": "tee", "category": "apparel"})
    assert text == routed_text


async def test_queries_the_fast_path_refuses_get_the_usual_problems(catalog: Catalog) -> None:
    duplicated = await catalog.api.get(f"{SAME_DAY}?lat=36.12&lat=36.13&lng=-115.17")
    tampered = await catalog.api.get(SAME_DAY, params={**LAS_VEGAS_STRIP, "cursor": "x" * 40})
    too_many = await catalog.api.get(SAME_DAY, params={**LAS_VEGAS_STRIP, "limit": 101})

    assert duplicated.status_code == 200  # FastAPI's reading of it, as before
    assert tampered.status_code == 400
    assert tampered.json()["code"] == "bad_cursor"
    assert too_many.status_code == 422
    assert [e["field"] for e in too_many.json()["errors"]] == ["limit"]


async def test_fast_queries_are_counted_and_traced_under_their_route(catalog: Catalog) -> None:
    for _ in range(3):
        resp = await catalog.api.get(SAME_DAY, params=LAS_VEGAS_STRIP)
        assert resp.status_code == 200
        assert len(resp.headers["x-trace-id"]) == 32

    metrics = (await catalog.api.get("/metrics")).text

    counted = [
        line
        for line in metrics.splitlines()
        if line.startswith("http_requests_total") and f'route="{SAME_DAY}"' in line
    ]
    assert counted and any('status="200"' in line for line in counted)


@pytest.mark.parametrize(
    ("moment", "promise"),
    [
        # 11:00 in Las Vegas: today, as soon as possible.
        (datetime(2026, 11, 25, 19, 0, tzinfo=UTC), "Arrives today by "),
        # 20:45, past the last packing: tomorrow's first window, while offer ids stay today's.
        (datetime(2026, 11, 26, 4, 45, tzinfo=UTC), "Arrives tomorrow "),
    ],
)
async def test_the_fast_path_serves_the_same_windowed_promise_as_the_route(
    catalog: Catalog, moment: datetime, promise: str
) -> None:
    previous = clock()
    set_clock(Clock(start=moment))
    try:
        fast, routed = await both(catalog, LAS_VEGAS_STRIP)
    finally:
        set_clock(previous)

    assert fast == routed
    items = orjson.loads(fast)["items"]
    assert items and all(item["promise"].startswith(promise) for item in items)
