"""Queries on route offers and who they were offered to."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Row

from driver_service.domain.offer import OfferStatus
from driver_service.store.tables import offer_drivers, offers
from shared.db import Tx

# Committed offer changes are announced on this channel; every instance's hub listens.
OFFERS_CHANNEL = "driver_offers"


async def add_offer(tx: Tx, values: dict[str, Any], driver_ids: list[UUID]) -> bool:
    result = await tx.execute(
        pg_insert(offers)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[offers.c.id])
        .returning(offers.c.id)
    )
    if result.first() is None:
        return False
    if driver_ids:
        # One statement for every driver asked: a row per driver through executemany costs
        # milliseconds of client CPU when an offer goes out wide.
        await tx.execute(
            text(
                "INSERT INTO offer_drivers (offer_id, driver_id)"
                " SELECT :offer_id, unnest(CAST(:driver_ids AS uuid[]))"
                " ON CONFLICT DO NOTHING"
            ),
            {"offer_id": values["id"], "driver_ids": list(dict.fromkeys(driver_ids))},
        )
    return True


async def announce(tx: Tx, offer_id: UUID) -> None:
    # NOTIFY is delivered at commit and never for a rollback: hubs see committed state only.
    await tx.execute(
        text("SELECT pg_notify(:channel, :offer_id)"),
        {"channel": OFFERS_CHANNEL, "offer_id": str(offer_id)},
    )


async def get_offer(tx: Tx, offer_id: UUID, *, for_update: bool = False) -> Row[Any] | None:
    query = select(offers).where(offers.c.id == offer_id)
    if for_update:
        query = query.with_for_update()
    return (await tx.execute(query)).first()


async def offer_for_driver(tx: Tx, offer_id: UUID, driver_id: UUID) -> Row[Any] | None:
    """The offer with this driver's `declined_at`, or None if it was not offered to them."""
    result = await tx.execute(
        select(offers, offer_drivers.c.declined_at)
        .join(offer_drivers, offer_drivers.c.offer_id == offers.c.id)
        .where(offers.c.id == offer_id, offer_drivers.c.driver_id == driver_id)
    )
    return result.first()


async def take(tx: Tx, offer_id: UUID, driver_id: UUID, now: datetime) -> bool:
    """Conditional update: of concurrent takers exactly one sees a row come back.

    Losers wait only for the winner's commit, then re-check and get nothing, all at once;
    a `SELECT ... FOR UPDATE` would instead pass the lock from loser to loser.
    """
    result = await tx.execute(
        update(offers)
        .where(
            offers.c.id == offer_id,
            offers.c.status == OfferStatus.OPEN.value,
            offers.c.expires_at > now,
        )
        .values(status=OfferStatus.ACCEPTED.value, accepted_by=driver_id)
        .returning(offers.c.id)
    )
    return result.first() is not None


async def active_driver_ids(tx: Tx, offer_id: UUID) -> list[UUID]:
    result = await tx.execute(
        select(offer_drivers.c.driver_id).where(
            offer_drivers.c.offer_id == offer_id, offer_drivers.c.declined_at.is_(None)
        )
    )
    return list(result.scalars())


async def open_offer_ids(tx: Tx, now: datetime) -> list[UUID]:
    result = await tx.execute(
        select(offers.c.id).where(
            offers.c.status == OfferStatus.OPEN.value, offers.c.expires_at > now
        )
    )
    return list(result.scalars())


async def expire(tx: Tx, offer_id: UUID) -> bool:
    result = await tx.execute(
        update(offers)
        .where(offers.c.id == offer_id, offers.c.status == OfferStatus.OPEN.value)
        .values(status=OfferStatus.EXPIRED.value)
        .returning(offers.c.id)
    )
    return result.first() is not None


async def decline(tx: Tx, offer_id: UUID, driver_id: UUID, now: datetime) -> None:
    await tx.execute(
        update(offer_drivers)
        .where(
            offer_drivers.c.offer_id == offer_id,
            offer_drivers.c.driver_id == driver_id,
            offer_drivers.c.declined_at.is_(None),
        )
        .values(declined_at=now)
    )
