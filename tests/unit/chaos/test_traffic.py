from __future__ import annotations

import asyncio
import base64
from types import SimpleNamespace
from typing import cast

import httpx

from services.chaos.__main__ import incomplete_flow
from services.chaos.traffic import ChaosTraffic
from services.demo import parse_options
from services.suite import Suite
from tests.support import eventually

ORDER_URL = "http://order.test"
SECRET = "whsec_" + base64.b64encode(b"a store's webhook secret").decode()


async def test_a_chaos_store_pulls_its_new_orders_at_its_own_gate() -> None:
    """The chaos run's stores go through the demo's POS loop: it must reach the order service
    (a gate override that did not take the demo's arguments made every POS loop die at once,
    so no order was ever accepted)."""
    listed: list[httpx.Request] = []

    def order_service(request: httpx.Request) -> httpx.Response:
        listed.append(request)
        return httpx.Response(200, json=[])

    suite = cast(
        Suite,
        SimpleNamespace(
            urls={"catalog": "http://catalog.test", "order": ORDER_URL},
            env={"CATALOG_INTERNAL_TOKEN": "internal", "ORDER_OPERATOR_TOKEN": "operator"},
        ),
    )
    async with httpx.AsyncClient(transport=httpx.MockTransport(order_service)) as http:
        traffic = ChaosTraffic(parse_options([]), suite, http)
        pos = asyncio.create_task(
            traffic.pos({"id": "store-1"}, {"api_key": "key-1", "webhook_secret": SECRET}, 0.01)
        )
        try:
            await eventually(lambda: len(listed) >= 2 or pos.done(), within=10)
            assert not pos.done(), pos.exception()
        finally:
            pos.cancel()
            await asyncio.gather(pos, return_exceptions=True)

    first = listed[0]
    assert (first.method, str(first.url)) == ("GET", f"{ORDER_URL}/v1/retailer/orders?status=new")
    assert first.headers["X-API-Key"] == "key-1"
    assert traffic.problems == {}


async def test_a_run_whose_actor_loop_died_says_it_is_incomplete() -> None:
    """A POS loop that dies leaves every order unpacked: the CHAOS line would then prove nothing
    of dispatch and drivers, so the run says so and `make chaos` fails."""

    async def pos_that_dies() -> None:
        raise TypeError("unexpected keyword argument 'by_store'")

    suite = cast(Suite, SimpleNamespace(urls={}, env={}))
    async with httpx.AsyncClient() as http:
        traffic = ChaosTraffic(parse_options([]), suite, http)
        traffic.actors = [asyncio.create_task(pos_that_dies())]
        await asyncio.sleep(0)
        await traffic.stop_actors()

    problems = incomplete_flow(traffic)

    assert problems[0].startswith("INCOMPLETE an actor loop died: TypeError(")
    assert incomplete_flow(ChaosTraffic(parse_options([]), suite, http)) == []
