"""What the storefront's status webhooks say, and the links they carry (tracking page, proof
photos). Never a store or mall: only the order as its shopper knows it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson

from order_service.domain.order import (
    Order,
    StorefrontEvent,
    StorefrontNotice,
)
from order_service.settings import OrderSettings
from shared import proof_links


@dataclass(frozen=True)
class Outgoing:
    """What rendering and queuing outgoing webhooks needs from the settings."""

    public_url: str
    driver_public_url: str
    proof_url_secret: str
    proof_url_ttl: timedelta
    webhook_retry: timedelta

    @classmethod
    def from_settings(cls, settings: OrderSettings) -> Outgoing:
        return cls(
            public_url=settings.public_url.rstrip("/"),
            driver_public_url=settings.driver_public_url.rstrip("/"),
            proof_url_secret=settings.proof_url_secret.get_secret_value(),
            proof_url_ttl=timedelta(seconds=settings.proof_url_ttl_seconds),
            webhook_retry=timedelta(seconds=settings.webhook_retry_seconds),
        )

    def tracking_url(self, token: str) -> str:
        return f"{self.public_url}/t/{token}"

    def photos(self, order: Order, now: datetime) -> list[dict[str, str]]:
        """Signed links to the order's proof photos, valid for `proof_url_ttl`."""
        expires_at = now + self.proof_url_ttl
        return [
            {
                "url": proof_links.photo_url(
                    self.driver_public_url,
                    self.proof_url_secret,
                    shipment.proof_photo_sha256,
                    expires_at,
                ),
                "expires_at": expires_at.isoformat(),
            }
            for shipment in order.proof()
            if shipment.proof_photo_sha256
        ]


def window_of(order: Order) -> dict[str, str]:
    return {
        "starts_at": order.window_start.isoformat(),
        "ends_at": order.deliver_by.isoformat(),
    }


def storefront_event(
    order: Order, notice: StorefrontNotice, outgoing: Outgoing, now: datetime
) -> dict[str, Any]:
    """A Standard Webhooks payload: type, timestamp and data, the data as the shopper sees
    the order."""
    data: dict[str, Any] = {
        "order_id": str(order.id),
        "status": order.status.value,
        "tracking_token": order.tracking_token,
        "tracking_url": outgoing.tracking_url(order.tracking_token),
        "window": window_of(order),
        "deliver_by": order.deliver_by.isoformat(),
    }
    event = notice.event
    if event is StorefrontEvent.PLACED:
        data |= {
            "placed_at": order.created_at.isoformat(),
            "items_total_cents": order.total_cents,
            "delivery_fee_cents": order.delivery_fee_cents,
            "currency": order.currency,
            "lines": [
                {
                    "offer_id": line.offer_id,
                    "title": line.title,
                    "quantity": line.quantity,
                    "unit_price_cents": line.unit_price_cents,
                }
                for line in order.lines
                if not line.is_cancelled
            ],
        }
    elif event is StorefrontEvent.OUT_FOR_DELIVERY:
        data["eta"] = (order.dropoff_eta() or order.deliver_by).isoformat()
    elif event is StorefrontEvent.DELIVERED:
        delivered_at = order.delivered_at or now
        data["delivered_at"] = delivered_at.isoformat()
        data["proof"] = {
            "delivered_at": delivered_at.isoformat(),
            # The drop-off the shopper gave, never the driver's own fix: nothing more precise
            # than the address, and nothing on the way there.
            "location": {"lat": order.dropoff_lat, "lng": order.dropoff_lng},
            "photos": outgoing.photos(order, now),
        }
    elif event in (StorefrontEvent.CANCELLED, StorefrontEvent.DELIVERY_FAILED):
        data["reason"] = notice.reason
        data["is_returning_goods"] = notice.is_returning_goods
    elif event is StorefrontEvent.TIP_ADDED:
        data |= {"tip_cents": order.tip_cents, "currency": order.currency}
    return {"type": event.value, "timestamp": now.isoformat(), "data": data}


def storefront_body(
    order: Order, notice: StorefrontNotice, outgoing: Outgoing, now: datetime
) -> bytes:
    return orjson.dumps(storefront_event(order, notice, outgoing, now))
