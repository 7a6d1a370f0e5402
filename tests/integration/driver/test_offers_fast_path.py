"""Valid long polls are served ahead of FastAPI's routing; they answer as the route does."""

from __future__ import annotations

import httpx
from aiokafka import AIOKafkaProducer

from tests.integration.driver.conftest import an_offer, publish, register
from tests.support import eventually

OFFERS = "/v1/drivers/me/offers"


async def test_the_fast_path_and_the_declared_route_give_the_same_answer(
    api: httpx.AsyncClient, producer: AIOKafkaProducer, topic_suffix: str
) -> None:
    driver = await register(api)
    offer = an_offer([driver.id])
    await publish(producer, topic_suffix, offer, key=offer.mall_id)

    async def offered() -> httpx.Response | None:
        resp = await api.get(OFFERS, headers=driver.headers)
        return resp if resp.json()["offers"] else None

    fast = await eventually(offered, within=15)
    # A parameter the fast path does not know sends the poll on to FastAPI's route.
    routed = await api.get(OFFERS, params={"unused": "1"}, headers=driver.headers)

    assert fast.status_code == routed.status_code == 200
    assert fast.content == routed.content
    assert fast.headers["etag"] == routed.headers["etag"]
    assert fast.headers["cache-control"] == routed.headers["cache-control"] == "no-store"
    assert fast.headers["content-type"] == routed.headers["content-type"]
    unchanged = await api.get(
        OFFERS,
        params={"wait": "0.2"},
        headers={**driver.headers, "If-None-Match": fast.headers["etag"]},
    )
    assert unchanged.status_code == 304
    assert unchanged.headers["etag"] == fast.headers["etag"]


async def test_polls_the_fast_path_refuses_get_the_usual_problems(api: httpx.AsyncClient) -> None:
    driver = await register(api)

    no_token = await api.get(OFFERS)
    bad_token = await api.get(OFFERS, headers={"Authorization": "Bearer not-a-jwt"})
    bad_wait = await api.get(OFFERS, params={"wait": "-1"}, headers=driver.headers)

    assert no_token.status_code == bad_token.status_code == 401
    assert no_token.headers["content-type"] == "application/problem+json"
    assert bad_wait.status_code == 422
    assert [e["field"] for e in bad_wait.json()["errors"]] == ["wait"]


async def test_fast_polls_are_counted_under_their_route(api: httpx.AsyncClient) -> None:
    driver = await register(api)
    for _ in range(3):
        assert (await api.get(OFFERS, headers=driver.headers)).status_code == 200

    metrics = (await api.get("/metrics")).text

    counted = [
        line
        for line in metrics.splitlines()
        if line.startswith("http_requests_total") and f'route="{OFFERS}"' in line
    ]
    assert counted and any('status="200"' in line for line in counted)
