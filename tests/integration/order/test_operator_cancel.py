"""An operator cancels one shipment of an order (dispatch's console asks on their behalf)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson

from shared.events.driver import RouteStopDelivered, RouteStopPickedUp
from shared.events.order import OrderCancelled
from tests.integration.order.conftest import MALL, NORTH, SOUTH, OrderEnv, StoreInfo
from tests.support import eventually

ROUTE = uuid.uuid4()
DRIVER = uuid.uuid4()


def operator(env: OrderEnv) -> dict[str, str]:
    return {"Authorization": f"Bearer {env.settings.operator_token}"}


async def two_store_order(env: OrderEnv) -> tuple[str, dict[str, UUID]]:
    """An order filled by two stores, both packed: a shipment per store."""
    north_key, north_secret = await env.provision(NORTH)
    south_key, south_secret = await env.provision(SOUTH)
    env.catalog.add_offer("off-n", "sku-n", {NORTH: 5})
    env.catalog.add_offer("off-s", "sku-s", {SOUTH: 5})
    resp = await env.checkout(("off-n", 1), ("off-s", 1))
    assert resp.status_code == 201, resp.text
    order_id = resp.json()["id"]
    rows = await env.scalar(
        "SELECT json_object_agg(store_id, id) FROM shipments WHERE order_id = :o",
        o=UUID(order_id),
    )
    shipments = {store: UUID(sid) for store, sid in rows.items()}
    for store, key, secret in (
        (NORTH, north_key, north_secret),
        (SOUTH, south_key, south_secret),
    ):
        shipment = str(shipments[store.store_id])
        for body in (
            {"type": "accepted", "shipment_id": shipment},
            {"type": "packaged", "shipment_id": shipment, "labels": [f"L-{store.store_id}"]},
        ):
            assert (await env.pos_event(key, secret, body)).status_code == 200
    return order_id, shipments


async def test_an_operator_cancels_one_shipment_and_the_rest_of_the_order_goes_on(
    env: OrderEnv,
) -> None:
    order_id, shipments = await two_store_order(env)
    north = shipments[NORTH.store_id]

    resp = await env.client.post(
        f"/v1/admin/shipments/{north}/cancel",
        json={"reason": "customer called: wrong size"},
        headers=operator(env),
    )

    assert resp.status_code == 200, resp.text
    assert resp.json() == {
        "shipment_id": str(north),
        "order_id": order_id,
        "status": "cancelled",
        "order_status": "packaged",
    }
    cancelled = await env.tap.next(
        OrderCancelled, within=15, where=lambda p: p.order_id == UUID(order_id)
    )
    assert cancelled.payload.shipment_ids == [north]
    assert cancelled.payload.reason == "operator_cancelled: customer called: wrong size"
    assert cancelled.key == order_id
    view = (await env.client.get(f"/v1/orders/{order_id}", headers=env.customer())).json()
    assert [line["is_cancelled"] for line in view["lines"]].count(True) == 1
    assert view["total_cents"] == 2500
    await eventually(lambda: _store_told(env, north), within=15)


def _store_told(env: OrderEnv, shipment_id: UUID, event_type: str = "order.cancelled") -> bool:
    return any(
        orjson.loads(body)["type"] == event_type and str(shipment_id).encode() in body
        for _, body in env.pos.received
    )


def a_driver_step(payload_cls: Any, order_id: str, shipment_id: UUID, **fields: Any) -> Any:
    return payload_cls(
        route_id=ROUTE,
        stop_id=uuid.uuid4(),
        mall_id=MALL.id,
        driver_id=DRIVER,
        order_id=UUID(order_id),
        shipment_id=shipment_id,
        at=datetime.now(UTC),
        **fields,
    )


async def picked_up(env: OrderEnv, order_id: str, shipment_id: UUID, store: StoreInfo) -> None:
    await env.publish(
        a_driver_step(RouteStopPickedUp, order_id, shipment_id, labels=[f"L-{store.store_id}"]),
        key=order_id,
    )
    await eventually(
        lambda: env.scalar(
            "SELECT status = 'picked_up' FROM shipments WHERE id = :s", s=shipment_id
        ),
        within=15,
    )


async def test_cancelling_again_changes_nothing_and_after_the_pickup_scan_it_is_a_return(
    env: OrderEnv,
) -> None:
    order_id, shipments = await two_store_order(env)
    north, south = shipments[NORTH.store_id], shipments[SOUTH.store_id]
    url = f"/v1/admin/shipments/{north}/cancel"
    first = await env.client.post(url, json={"reason": "r"}, headers=operator(env))
    again = await env.client.post(url, json={"reason": "r"}, headers=operator(env))
    await picked_up(env, order_id, south, SOUTH)

    back = await env.client.post(
        f"/v1/admin/shipments/{south}/cancel", json={"reason": "late"}, headers=operator(env)
    )

    assert first.status_code == again.status_code == 200
    assert again.json()["status"] == "cancelled"
    # As a customer's cancel after the pickup scan: the driver takes it back to its store.
    assert back.status_code == 200, back.text
    assert back.json()["status"] == "returning"
    assert back.json()["order_status"] == "returning"
    statuses = await env.scalar("SELECT array_agg(status ORDER BY status) FROM shipments")
    assert statuses == ["cancelled", "returning"]
    await eventually(lambda: _store_told(env, south, "order.returning"), within=15)
    events = await env.tap.collect(within=1.0)
    cancels = [
        e.payload
        for e in events
        if isinstance(e.payload, OrderCancelled) and e.payload.order_id == UUID(order_id)
    ]
    assert [c.shipment_ids for c in cancels] == [[north], [south]]
    view = (await env.client.get(f"/v1/orders/{order_id}", headers=env.customer())).json()
    assert view["total_cents"] == 0


async def test_a_delivered_shipment_can_no_longer_be_cancelled_and_nothing_changes(
    env: OrderEnv,
) -> None:
    order_id, shipments = await two_store_order(env)
    south = shipments[SOUTH.store_id]
    await picked_up(env, order_id, south, SOUTH)
    await env.publish(
        a_driver_step(RouteStopDelivered, order_id, south, proof_photo_sha256="ab" * 32),
        key=order_id,
    )
    await eventually(
        lambda: env.scalar("SELECT status = 'delivered' FROM shipments WHERE id = :s", s=south),
        within=15,
    )

    gone = await env.client.post(
        f"/v1/admin/shipments/{south}/cancel", json={"reason": "r"}, headers=operator(env)
    )

    assert gone.status_code == 409
    assert gone.headers["content-type"] == "application/problem+json"
    assert "can no longer be cancelled" in gone.json()["detail"]
    statuses = await env.scalar("SELECT array_agg(status ORDER BY status) FROM shipments")
    assert statuses == ["delivered", "packaged"]
    events = await env.tap.collect(within=1.0)
    assert not [
        e
        for e in events
        if isinstance(e.payload, OrderCancelled) and e.payload.order_id == UUID(order_id)
    ]


async def test_only_an_operator_may_cancel_and_bad_input_changes_nothing(env: OrderEnv) -> None:
    _, shipments = await two_store_order(env)
    north = shipments[NORTH.store_id]
    url = f"/v1/admin/shipments/{north}/cancel"

    stranger = await env.client.post(url, json={"reason": "r"})
    customer = await env.client.post(url, json={"reason": "r"}, headers=env.customer())
    no_reason = await env.client.post(url, json={"reason": ""}, headers=operator(env))
    unknown = await env.client.post(
        f"/v1/admin/shipments/{uuid.uuid4()}/cancel", json={"reason": "r"}, headers=operator(env)
    )

    assert stranger.status_code == customer.status_code == 401
    assert no_reason.status_code == 422
    assert no_reason.json()["errors"][0]["field"] == "reason"
    assert unknown.status_code == 404
    assert await env.scalar("SELECT count(*) FROM shipments WHERE status = 'packaged'") == 2
