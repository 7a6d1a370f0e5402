"""A route offer as the driver app sees it: who may still take it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from driver_service.domain.errors import OfferDeclined, OfferExpired, OfferTaken


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
