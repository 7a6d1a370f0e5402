"""The storefront's status webhooks: registered endpoints, signed and ordered deliveries, retries
for a day, failed deliveries kept and replayed, secret rotation, and never a store or mall."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from order_service.api.storefront_webhooks import WEBHOOK_MODELS
from shared import clock, proof_links
from shared.events.driver import RouteStopDelivered, RouteStopFailed, RouteStopPickedUp
from tests.integration.order.conftest import HOME, MALL, NORTH, SOUTH, OrderEnv
from tests.integration.order.test_lifecycle import CustomerLog, packaged_order, step
from tests.integration.order.test_webhooks import a_sender_on_a_manual_clock, run_retries
from tests.support import eventually

IDENTIFIERS = [
    value.casefold()
    for store in (NORTH, SOUTH)
    for value in (store.store_id, store.name, store.pickup_instructions, store.mall_name)
] + [MALL.id.casefold(), MALL.address.casefold()]
PHOTO = hashlib.sha256(b"a package at the door").hexdigest()


def storefront(env: OrderEnv) -> dict[str, str]:
    return {"Authorization": f"Bearer {env.settings.storefront_token.get_secret_value()}"}


async def register(
    env: OrderEnv, name: str, event_types: list[str] | None = None
) -> tuple[str, str]:
    resp = await env.client.post(
        "/v1/storefront/webhook-endpoints",
        json={"url": f"http://storefront.test/storefront/{name}", "event_types": event_types},
        headers=storefront(env),
    )
    assert resp.status_code == 201, resp.text
    return resp.json()["id"], resp.json()["secret"]


def events_at(env: OrderEnv, name: str) -> list[dict[str, Any]]:
    return [orjson.loads(body) for _, body in env.pos.storefront.get(name, [])]


def types_at(env: OrderEnv, name: str) -> list[str]:
    return [event["type"] for event in events_at(env, name)]


def verified(env: OrderEnv, name: str, secret: str) -> list[dict[str, Any]]:
    """Every request the endpoint got, checked with the Standard Webhooks library and the
    event's declared model, and scanned for store and mall identifiers."""
    events = []
    for headers, body in env.pos.storefront.get(name, []):
        event: dict[str, Any] = Webhook(secret).verify(body, headers)
        WEBHOOK_MODELS[event["type"]].model_validate(event)
        text = body.decode().casefold()
        assert not [i for i in IDENTIFIERS if i in text], body
        events.append(event)
    return events


async def status_is(env: OrderEnv, order_id: str, status: str) -> bool:
    resp = await env.client.get(f"/v1/orders/{order_id}", headers=env.customer())
    return bool(resp.json()["status"] == status)


async def deliveries_queued(env: OrderEnv, count: int) -> bool:
    queued = await env.scalar(
        "SELECT count(*) FROM webhook_deliveries WHERE recipient_kind = 'endpoint'"
    )
    return bool(queued == count)


async def test_only_the_storefront_registers_endpoints_and_sees_the_secret_once(
    env: OrderEnv,
) -> None:
    refused = await env.client.post(
        "/v1/storefront/webhook-endpoints", json={"url": "http://storefront.test/storefront/a"}
    )
    as_customer = await env.client.post(
        "/v1/storefront/webhook-endpoints",
        json={"url": "http://storefront.test/storefront/a"},
        headers=env.customer(),
    )

    endpoint_id, secret = await register(env, "a")

    assert refused.status_code == 401 and as_customer.status_code == 401
    assert secret.startswith("whsec_")
    listed = await env.client.get("/v1/storefront/webhook-endpoints", headers=storefront(env))
    assert [e["id"] for e in listed.json()] == [endpoint_id]
    assert secret not in listed.text


async def test_an_order_s_life_reaches_the_storefront_signed_in_order_naming_no_store(
    env: OrderEnv,
) -> None:
    _, secret = await register(env, "shop")
    seen = CustomerLog()
    order_id, shipment = await packaged_order(env, seen)
    eta = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=22)

    await env.publish(
        step(RouteStopPickedUp, order_id, shipment, labels=["L1"], dropoff_eta=eta),
        key="route",
    )
    await env.publish(
        step(RouteStopDelivered, order_id, shipment, proof_photo_sha256=PHOTO), key="route"
    )
    await eventually(lambda: len(env.pos.storefront.get("shop", [])) == 3, within=15)
    tipped = await env.client.post(
        f"/v1/orders/{order_id}/tip", json={"tip_cents": 300}, headers=env.customer()
    )
    assert tipped.status_code == 200
    await eventually(lambda: len(env.pos.storefront.get("shop", [])) == 4, within=15)

    placed, out, delivered, tip = verified(env, "shop", secret)
    assert [placed["type"], out["type"], delivered["type"], tip["type"]] == [
        "order.placed",
        "order.out_for_delivery",
        "order.delivered",
        "order.tip_added",
    ]
    order_view = seen.responses[0].json()
    assert placed["data"]["tracking_url"] == order_view["tracking_url"]
    assert placed["data"]["tracking_url"].endswith(f"/t/{order_view['tracking_token']}")
    assert datetime.fromisoformat(out["data"]["eta"]) == eta
    proof = delivered["data"]["proof"]
    assert proof["location"] == HOME
    (photo,) = proof["photos"]
    url = urlsplit(photo["url"])
    query = parse_qs(url.query)
    assert url.path == f"{proof_links.PATH}/{PHOTO}"
    assert proof_links.is_valid(
        env.settings.proof_url_secret.get_secret_value(),
        PHOTO,
        int(query["expires"][0]),
        query["signature"][0],
        clock.now(),
    )
    assert not proof_links.is_valid(
        env.settings.proof_url_secret.get_secret_value(),
        PHOTO,
        int(query["expires"][0]),
        query["signature"][0],
        datetime.fromisoformat(photo["expires_at"]) + timedelta(seconds=1),
    )
    assert tip["data"]["tip_cents"] == 300
    # One webhook-id per delivery, the same one the storefront can look the delivery up by.
    ids = [headers["webhook-id"] for headers, _ in env.pos.storefront["shop"]]
    assert len(set(ids)) == 4
    looked_up = await env.client.get(
        f"/v1/storefront/webhook-deliveries/{ids[0]}", headers=storefront(env)
    )
    assert looked_up.json()["status"] == "delivered"
    assert looked_up.json()["attempt_log"][0]["status_code"] == 204


async def test_cancellations_say_why_and_whether_the_goods_come_back(env: OrderEnv) -> None:
    _, secret = await register(env, "shop", ["order.cancelled"])
    env.catalog.add_offer("off-2", "sku-2", {SOUTH: 5})
    early = (await env.checkout(("off-2", 1))).json()["id"]
    await env.client.post(f"/v1/orders/{early}/cancel", headers=env.customer())
    late, shipment = await packaged_order(env, CustomerLog())
    await env.publish(step(RouteStopPickedUp, late, shipment, labels=["L1"]), key="route")
    await eventually(lambda: status_is(env, late, "picked_up"), within=10)

    await env.client.post(f"/v1/orders/{late}/cancel", headers=env.customer())

    await eventually(lambda: len(env.pos.storefront.get("shop", [])) == 2, within=15)
    first, second = verified(env, "shop", secret)
    assert (first["data"]["order_id"], second["data"]["order_id"]) == (early, late)
    assert first["data"]["reason"] == second["data"]["reason"] == "customer_cancelled"
    assert (first["data"]["is_returning_goods"], second["data"]["is_returning_goods"]) == (
        False,
        True,
    )


async def test_a_failed_delivery_is_announced_with_the_driver_s_reason(env: OrderEnv) -> None:
    _, secret = await register(env, "shop", ["order.delivery_failed"])
    order_id, shipment = await packaged_order(env, CustomerLog())
    await env.publish(step(RouteStopPickedUp, order_id, shipment, labels=["L1"]), key="route")

    await env.publish(
        step(RouteStopFailed, order_id, shipment, reason="customer_absent"), key="route"
    )

    await eventually(lambda: env.pos.storefront.get("shop"), within=15)
    (failed,) = verified(env, "shop", secret)
    assert failed["data"]["reason"] == "customer_absent"
    assert failed["data"]["is_returning_goods"] is True


async def test_a_storefront_endpoint_answering_500_for_an_hour_gets_every_webhook_afterwards(
    env: OrderEnv,
) -> None:
    endpoint_id, secret = await register(env, "shop")
    async with a_sender_on_a_manual_clock(env) as (sender, manual):
        back_at = manual.at + timedelta(hours=1)
        env.pos.answer = lambda _: 500 if clock.now() < back_at else 204
        order_id, shipment = await packaged_order(env, CustomerLog())
        await env.publish(step(RouteStopPickedUp, order_id, shipment, labels=["L1"]), key="r")
        await env.publish(
            step(RouteStopDelivered, order_id, shipment, proof_photo_sha256=PHOTO), key="r"
        )
        await eventually(lambda: deliveries_queued(env, 3), within=15)
        await run_retries(env, sender, manual, hours=3)

    events = verified(env, "shop", secret)
    after = [e["type"] for e in events[-3:]]
    assert after == ["order.placed", "order.out_for_delivery", "order.delivered"]
    # While the endpoint was down, only the order's first webhook was tried, again and again.
    assert set(types_at(env, "shop")[:-3]) == {"order.placed"}
    deliveries = (
        await env.client.get(
            "/v1/storefront/webhook-deliveries",
            params={"endpoint_id": endpoint_id},
            headers=storefront(env),
        )
    ).json()
    assert {d["status"] for d in deliveries} == {"delivered"}
    first = min(deliveries, key=lambda d: d["created_at"])
    detail = (
        await env.client.get(
            f"/v1/storefront/webhook-deliveries/{first['id']}", headers=storefront(env)
        )
    ).json()
    codes = [a["status_code"] for a in detail["attempt_log"]]
    assert codes[-1] == 204 and set(codes[:-1]) == {500} and len(codes) > 5
    assert len(codes) == detail["attempts"]


async def test_after_a_day_of_failures_a_delivery_is_kept_failed_and_can_be_replayed(
    env: OrderEnv,
) -> None:
    endpoint_id, secret = await register(env, "shop", ["order.placed"])
    async with a_sender_on_a_manual_clock(env) as (sender, manual):
        env.pos.answer = lambda _: 500
        await packaged_order(env, CustomerLog())
        await eventually(lambda: deliveries_queued(env, 1), within=15)
        began = manual.at
        await run_retries(env, sender, manual, hours=30)
        failed = (
            await env.client.get(
                "/v1/storefront/webhook-deliveries",
                params={"status": "failed"},
                headers=storefront(env),
            )
        ).json()
        assert len(failed) == 1
        (delivery,) = failed
        gave_up_at = datetime.fromisoformat(delivery["failed_at"])
        assert gave_up_at - began >= timedelta(hours=24)

        env.pos.answer = None
        replayed = await env.client.post(
            f"/v1/storefront/webhook-deliveries/{delivery['id']}/replay", headers=storefront(env)
        )
        assert replayed.status_code == 202 and replayed.json()["status"] == "pending"
        await run_retries(env, sender, manual, hours=1)

    again = await env.client.post(
        f"/v1/storefront/webhook-deliveries/{delivery['id']}/replay", headers=storefront(env)
    )
    assert again.status_code == 409 and again.json()["code"] == "not_failed"
    headers, body = env.pos.storefront["shop"][-1]
    assert headers["webhook-id"] == delivery["id"]
    assert Webhook(secret).verify(body, headers)["type"] == "order.placed"
    listed = (
        await env.client.get(
            "/v1/storefront/webhook-deliveries",
            params={"endpoint_id": endpoint_id, "status": "delivered"},
            headers=storefront(env),
        )
    ).json()
    assert [d["id"] for d in listed] == [delivery["id"]]


async def test_one_slow_storefront_endpoint_delays_no_other(env: OrderEnv) -> None:
    await register(env, "slow")
    _, secret = await register(env, "quick")
    env.pos.hold["/storefront/slow"] = asyncio.Event()
    env.catalog.add_offer("off-1", "sku-1", {NORTH: 5})

    try:
        await env.checkout(("off-1", 1))
        await eventually(lambda: "/storefront/slow" in env.pos.in_flight, within=10)
        await env.checkout(("off-1", 1))
        await eventually(lambda: len(env.pos.storefront.get("quick", [])) == 2, within=10)
        assert "/storefront/slow" in env.pos.in_flight
        assert types_at(env, "quick") == ["order.placed", "order.placed"]
        assert len(verified(env, "quick", secret)) == 2
    finally:
        env.pos.hold["/storefront/slow"].set()
    await eventually(lambda: len(env.pos.storefront.get("slow", [])) == 2, within=10)


async def test_a_rotated_secret_signs_beside_the_old_one_until_the_grace_ends(
    env: OrderEnv,
) -> None:
    endpoint_id, old = await register(env, "shop", ["order.placed"])
    env.catalog.add_offer("off-1", "sku-1", {NORTH: 5})
    rotated = await env.client.post(
        f"/v1/storefront/webhook-endpoints/{endpoint_id}/rotate-secret",
        json={"grace_seconds": 3600},
        headers=storefront(env),
    )
    new = rotated.json()["secret"]

    await env.checkout(("off-1", 1))
    await eventually(lambda: env.pos.storefront.get("shop"), within=10)
    await env.client.post(
        f"/v1/storefront/webhook-endpoints/{endpoint_id}/rotate-secret",
        json={"grace_seconds": 0},
        headers=storefront(env),
    )
    newest = (
        await env.client.get("/v1/storefront/webhook-endpoints", headers=storefront(env))
    ).status_code
    await env.checkout(("off-1", 1))
    await eventually(lambda: len(env.pos.storefront.get("shop", [])) == 2, within=10)

    assert rotated.status_code == 200 and new != old and newest == 200
    (during_headers, during_body), (after_headers, after_body) = env.pos.storefront["shop"]
    assert len(during_headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        assert Webhook(secret).verify(during_body, during_headers)["type"] == "order.placed"
    # The second rotation ended the grace of both earlier secrets at once.
    assert len(after_headers["webhook-signature"].split(" ")) == 1
    for secret in (old, new):
        try:
            Webhook(secret).verify(after_body, after_headers)
        except WebhookVerificationError:
            continue
        raise AssertionError("a secret past its grace still verifies")


async def test_a_removed_endpoint_keeps_what_was_pending_as_failed(env: OrderEnv) -> None:
    endpoint_id, _ = await register(env, "gone")
    env.pos.hold["/storefront/gone"] = asyncio.Event()
    env.catalog.add_offer("off-1", "sku-1", {NORTH: 5})
    await env.checkout(("off-1", 1))
    await env.checkout(("off-1", 1))
    await eventually(lambda: "/storefront/gone" in env.pos.in_flight, within=10)

    removed = await env.client.delete(
        f"/v1/storefront/webhook-endpoints/{endpoint_id}", headers=storefront(env)
    )
    env.pos.hold["/storefront/gone"].set()

    assert removed.status_code == 204
    failed = (
        await env.client.get(
            "/v1/storefront/webhook-deliveries",
            params={"status": "failed"},
            headers=storefront(env),
        )
    ).json()
    assert len(failed) >= 1 and {d["last_error"] for d in failed} == {"endpoint removed"}
    replay = await env.client.post(
        f"/v1/storefront/webhook-deliveries/{failed[0]['id']}/replay", headers=storefront(env)
    )
    assert replay.status_code == 409 and replay.json()["code"] == "endpoint_removed"
    assert (
        await env.client.get("/v1/storefront/webhook-endpoints", headers=storefront(env))
    ).json() == []


async def test_the_openapi_document_declares_every_storefront_webhook(env: OrderEnv) -> None:
    spec = (await env.client.get("/openapi.json")).json()

    assert set(spec["webhooks"]) == set(WEBHOOK_MODELS)
    for event_type, item in spec["webhooks"].items():
        body = item["post"]["requestBody"]["content"]["application/json"]
        assert body["example"]["type"] == event_type
        WEBHOOK_MODELS[event_type].model_validate(body["example"])
    text = orjson.dumps(spec["webhooks"]).decode().casefold()
    assert "store" not in text.replace("storefront", "") and "mall" not in text
