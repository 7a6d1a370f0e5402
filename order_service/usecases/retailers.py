"""The retailer side's reads and set-up: POS keys, webhook secrets, stock and order lists."""

from __future__ import annotations

import base64
import logging
import secrets
import uuid
from datetime import datetime, timedelta
from uuid import UUID

from order_service.domain.checkout import RetailerOrder
from order_service.domain.order import DROPPED, ShipmentStatus
from order_service.store import directory, pos
from order_service.store import orders as store
from order_service.usecases.base import retailer_view, sha256_hex
from shared.db import Tx

log = logging.getLogger(__name__)


async def provision_pos(
    tx: Tx, store_id: str, webhook_url: str | None, now: datetime, grace: timedelta
) -> tuple[str, str]:
    """A new API key and webhook secret for a store, returned once; the previous pair stays
    valid for `grace` so the store can rotate without downtime."""
    api_key = "mth_sk_" + secrets.token_urlsafe(32)
    webhook_secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    await pos.add_credentials(
        tx,
        credential_id=uuid.uuid4(),
        store_id=store_id,
        api_key_sha256=sha256_hex(api_key),
        webhook_secret=webhook_secret,
        webhook_url=webhook_url,
        now=now,
        previous_expire_at=now + grace,
    )
    log.info("pos_credentials_issued", extra={"store_id": store_id})
    return api_key, webhook_secret


async def filling_stores(tx: Tx, order_id: UUID) -> list[tuple[str, UUID]]:
    """(store, shipment) of each shipment still filling the order; for operators only."""
    order = await store.get_order(tx, order_id)
    if order is None:
        return []
    return [(s.store_id, s.id) for s in order.shipments if s.status not in DROPPED]


async def webhook_secrets(tx: Tx, store_id: str, now: datetime) -> list[str]:
    return await pos.webhook_secrets(tx, store_id, now)


async def webhook_url(tx: Tx, store_id: str, now: datetime) -> str | None:
    return await pos.webhook_url_of(tx, store_id, now)


async def store_for_api_key(tx: Tx, api_key: str, now: datetime) -> str | None:
    return await pos.store_of_api_key(tx, sha256_hex(api_key), now)


async def store_stock(tx: Tx, store_id: str, sku: str) -> tuple[int, int] | None:
    return await directory.stock_of(tx, store_id, sku)


async def retailer_orders(
    tx: Tx, store_id: str, statuses: list[ShipmentStatus] | None, limit: int = 100
) -> list[RetailerOrder]:
    views = []
    for shipment_id in await store.store_shipments(tx, store_id, statuses, limit):
        order_id = await store.order_id_of_shipment(tx, shipment_id)
        order = await store.get_order(tx, order_id) if order_id else None
        shipment = order.shipment(shipment_id) if order else None
        if order is not None and shipment is not None:
            views.append(retailer_view(order, shipment))
    return views
