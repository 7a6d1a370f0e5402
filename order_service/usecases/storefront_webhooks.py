"""The storefront's webhook endpoints and their deliveries: register, rotate, remove, replay."""

from __future__ import annotations

import base64
import logging
import secrets
import uuid
from datetime import datetime, timedelta
from uuid import UUID

from order_service.outgoing import Outgoing
from order_service.store import webhooks
from order_service.store.webhooks import DeliveryStatus, Recipient, RecipientKind
from shared.db import Tx

log = logging.getLogger(__name__)


class EndpointRemoved(Exception):
    """A delivery of a removed endpoint cannot be sent again."""


EndpointRow = webhooks.EndpointRow
DeliveryRow = webhooks.DeliveryRow


def new_webhook_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


async def register_endpoint(
    tx: Tx, *, url: str, event_types: list[str] | None, description: str, now: datetime
) -> tuple[EndpointRow, str]:
    """A new endpoint and its signing secret, returned once."""
    endpoint_id, secret = uuid.uuid4(), new_webhook_secret()
    await webhooks.add_endpoint(
        tx,
        endpoint_id=endpoint_id,
        url=url,
        event_types=event_types,
        description=description,
        secret=secret,
        now=now,
    )
    found = await webhooks.endpoint(tx, endpoint_id)
    assert found is not None
    log.info("webhook_endpoint_registered", extra={"endpoint_id": str(endpoint_id)})
    return found, secret


async def storefront_endpoints(tx: Tx) -> list[EndpointRow]:
    return await webhooks.endpoints(tx)


async def remove_endpoint(tx: Tx, endpoint_id: UUID, now: datetime) -> bool:
    """Stops deliveries to it; what was still pending is kept as failed, listed with the other
    failed deliveries, so nothing goes missing without a trace."""
    if await webhooks.endpoint(tx, endpoint_id, for_update=True) is None:
        return False
    await webhooks.disable_endpoint(tx, endpoint_id, now)
    await webhooks.fail_pending_of(
        tx, Recipient(RecipientKind.ENDPOINT, str(endpoint_id)), now, "endpoint removed"
    )
    log.info("webhook_endpoint_removed", extra={"endpoint_id": str(endpoint_id)})
    return True


async def rotate_endpoint_secret(
    tx: Tx, endpoint_id: UUID, now: datetime, grace: timedelta
) -> str | None:
    if await webhooks.endpoint(tx, endpoint_id, for_update=True) is None:
        return None
    secret = new_webhook_secret()
    await webhooks.rotate_secret(tx, endpoint_id, secret, now, now + grace)
    log.info("webhook_secret_rotated", extra={"endpoint_id": str(endpoint_id)})
    return secret


async def storefront_deliveries(
    tx: Tx, *, status: DeliveryStatus | None, endpoint_id: UUID | None, limit: int
) -> list[DeliveryRow]:
    return await webhooks.endpoint_deliveries(
        tx, status=status, endpoint_id=endpoint_id, limit=limit
    )


async def storefront_delivery(
    tx: Tx, delivery_id: UUID
) -> tuple[DeliveryRow, list[webhooks.AttemptRow]] | None:
    row = await webhooks.endpoint_delivery(tx, delivery_id)
    if row is None:
        return None
    return row, await webhooks.attempts_of(tx, delivery_id)


async def replay_delivery(
    tx: Tx, delivery_id: UUID, now: datetime, outgoing: Outgoing
) -> DeliveryRow | None:
    """The delivery as it is after the replay: pending again if it had failed, else as it
    was (the caller refuses that)."""
    row = await webhooks.endpoint_delivery(tx, delivery_id, for_update=True)
    if row is None:
        return None
    if await webhooks.endpoint(tx, row.endpoint_id) is None:
        raise EndpointRemoved
    if row.status is DeliveryStatus.FAILED:
        await webhooks.requeue(tx, [delivery_id], now, now + outgoing.webhook_retry)
        log.info("webhook_replayed", extra={"delivery_id": str(delivery_id)})
    return await webhooks.endpoint_delivery(tx, delivery_id)


async def replay_failed(tx: Tx, endpoint_id: UUID, now: datetime, outgoing: Outgoing) -> int | None:
    if await webhooks.endpoint(tx, endpoint_id) is None:
        return None
    failed = await webhooks.failed_of_endpoint(tx, endpoint_id)
    replayed = await webhooks.requeue(tx, failed, now, now + outgoing.webhook_retry)
    log.info("webhooks_replayed", extra={"endpoint_id": str(endpoint_id), "deliveries": replayed})
    return replayed
