"""A route offer as the driver app sees it: who may still take it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from driver_service.domain.errors import OfferDeclined, OfferExpired, OfferTaken
from shared.events.dispatch import RouteStop


class OfferStatus(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    EXPIRED = "expired"


def check_open(
    status: OfferStatus, expires_at: datetime, declined_at: datetime | None, now: datetime
) -> None:
    """Refuses an accept or decline of an offer no longer open to this driver."""
    if status is OfferStatus.ACCEPTED:
        raise OfferTaken()
    if status is OfferStatus.EXPIRED or expires_at <= now:
        raise OfferExpired()
    if declined_at is not None:
        raise OfferDeclined()


@dataclass(frozen=True)
class OfferTerms:
    """What the accepted offer said, copied onto the route."""

    offer_id: UUID
    route_id: UUID
    mall_id: str
    pay_cents: int
    currency: str
    hourly_floor_cents: int
    block_minutes: int
    stops: tuple[RouteStop, ...]
