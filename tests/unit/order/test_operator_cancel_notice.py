"""An operator calling off an order's last part tells the storefront it was cancelled, with a
reason of its own and never the operator's words (they may name the store)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from order_service.domain.order import Order, StorefrontEvent
from order_service.domain.selection import Assignment
from shared.geo import Point

START = datetime(2026, 11, 25, 19, 0, tzinfo=UTC)


def an_order() -> Order:
    order, _ = Order.place(
        order_id=uuid.uuid4(),
        customer_id="c-1",
        assignments=[Assignment("st-a", "mall-1", {"sku-1": 1})],
        lines=[("off-1", "sku-1", "SKU-1", 1, 1000)],
        deliver_by=START + timedelta(hours=3),
        currency="USD",
        address={},
        dropoff=Point(36.12, -115.15),
        contact_name="Ada Lovelace",
        contact_phone="+17025550100",
        pin=None,
        pin_sha256=None,
        new_id=uuid.uuid4,
        at=START,
    )
    return order


def test_an_operator_cancel_of_the_last_part_reaches_the_storefront_without_its_words() -> None:
    order = an_order()
    (shipment,) = order.shipments

    changes = order.cancel_shipment(
        shipment.id, "Store 12 at Fashion Show is closed", at=START + timedelta(minutes=5)
    )

    (notice,) = changes.storefront
    assert notice.event is StorefrontEvent.CANCELLED
    assert notice.reason == "cancelled_by_support"
    assert notice.is_returning_goods is False
