from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import and_, func, or_, select, update

from dispatch_service.domain.offers import Candidate
from dispatch_service.domain.pay import Quote
from dispatch_service.domain.planning import PlannedRoute
from dispatch_service.store.tables import offer_views, offers, routes
from shared.db import Tx
from shared.events.dispatch import RouteStop


class RouteStatus(StrEnum):
    OFFERING = "offering"
    ASSIGNED = "assigned"
    WITHDRAWN = "withdrawn"


class OfferStatus(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    EXPIRED = "expired"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


class Answer(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    # Another driver took the route first.
    TAKEN = "taken"
    # The route went back to the pool (cancelled order, no taker in time).
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True, slots=True)
class RouteRecord:
    route_id: UUID
    mall_id: str
    mall_name: str
    status: RouteStatus
    stops: tuple[RouteStop, ...]
    planned_miles: float
    planned_minutes: int
    max_load: int
    depart_at: datetime
    latest_start_at: datetime
    block_type: str
    block_minutes: int
    hourly_floor_cents: int
    base_pay_cents: int
    currency: str
    driver_id: UUID | None
    offer_id: UUID | None
    pay_cents: int | None
    assigned_at: datetime | None
    withdrawn_reason: str | None
    created_at: datetime

    @property
    def order_ids(self) -> list[UUID]:
        return sorted({stop.order_id for stop in self.stops}, key=str)


@dataclass(frozen=True, slots=True)
class OfferRecord:
    offer_id: UUID
    route_id: UUID
    round: int
    pay_cents: int
    hourly_floor_cents: int
    surge_level: int
    radius_m: float
    status: OfferStatus
    created_at: datetime
    expires_at: datetime
    closed_at: datetime | None


@dataclass(frozen=True, slots=True)
class ViewRecord:
    offer_id: UUID
    driver_id: UUID
    round: int
    shown_at: datetime
    pay_cents: int
    distance_m: float
    answer: Answer
    answered_at: datetime | None


def _route(row: Any) -> RouteRecord:
    return RouteRecord(
        route_id=row.route_id,
        mall_id=row.mall_id,
        mall_name=row.mall_name,
        status=RouteStatus(row.status),
        stops=tuple(RouteStop.model_validate(stop) for stop in row.stops),
        planned_miles=row.planned_miles,
        planned_minutes=row.planned_minutes,
        max_load=row.max_load,
        depart_at=row.depart_at,
        latest_start_at=row.latest_start_at,
        block_type=row.block_type,
        block_minutes=row.block_minutes,
        hourly_floor_cents=row.hourly_floor_cents,
        base_pay_cents=row.base_pay_cents,
        currency=row.currency,
        driver_id=row.driver_id,
        offer_id=row.offer_id,
        pay_cents=row.pay_cents,
        assigned_at=row.assigned_at,
        withdrawn_reason=row.withdrawn_reason,
        created_at=row.created_at,
    )


def _offer(row: Any) -> OfferRecord:
    return OfferRecord(
        offer_id=row.offer_id,
        route_id=row.route_id,
        round=row.round,
        pay_cents=row.pay_cents,
        hourly_floor_cents=row.hourly_floor_cents,
        surge_level=row.surge_level,
        radius_m=row.radius_m,
        status=OfferStatus(row.status),
        created_at=row.created_at,
        expires_at=row.expires_at,
        closed_at=row.closed_at,
    )


async def add(
    tx: Tx,
    planned: PlannedRoute,
    *,
    mall_id: str,
    mall_name: str,
    quote: Quote,
    currency: str,
    now: datetime,
) -> None:
    await tx.execute(
        routes.insert().values(
            route_id=planned.route_id,
            mall_id=mall_id,
            mall_name=mall_name,
            status=RouteStatus.OFFERING,
            stops=[stop.model_dump(mode="json") for stop in planned.stops],
            planned_miles=planned.planned_miles,
            planned_minutes=planned.planned_minutes,
            max_load=planned.max_load,
            depart_at=planned.depart_at,
            latest_start_at=planned.latest_start_at,
            block_type=quote.block_type,
            block_minutes=quote.block_minutes,
            hourly_floor_cents=quote.hourly_floor_cents,
            base_pay_cents=quote.pay_cents,
            currency=currency,
            created_at=now,
            updated_at=now,
        )
    )


async def get(tx: Tx, route_id: UUID, *, for_update: bool = False) -> RouteRecord | None:
    query = select(routes).where(routes.c.route_id == route_id)
    if for_update:
        query = query.with_for_update()
    row = (await tx.execute(query)).first()
    return None if row is None else _route(row)


async def lock_offering(tx: Tx, route_id: UUID) -> RouteRecord | None:
    """The route if it still looks for a driver and no one else is working on it right now."""
    row = (
        await tx.execute(
            select(routes)
            .where(routes.c.route_id == route_id, routes.c.status == RouteStatus.OFFERING)
            .with_for_update(skip_locked=True)
        )
    ).first()
    return None if row is None else _route(row)


async def offering_ids(tx: Tx) -> list[UUID]:
    result = await tx.execute(
        select(routes.c.route_id)
        .where(routes.c.status == RouteStatus.OFFERING)
        .order_by(routes.c.latest_start_at)
    )
    return list(result.scalars())


async def count_offering(tx: Tx, mall_id: str) -> int:
    result = await tx.execute(
        select(func.count())
        .select_from(routes)
        .where(routes.c.mall_id == mall_id, routes.c.status == RouteStatus.OFFERING)
    )
    return int(result.scalar_one())


async def assign(
    tx: Tx, route_id: UUID, *, driver_id: UUID, offer_id: UUID, pay_cents: int, at: datetime
) -> None:
    await tx.execute(
        update(routes)
        .where(routes.c.route_id == route_id)
        .values(
            status=RouteStatus.ASSIGNED,
            driver_id=driver_id,
            offer_id=offer_id,
            pay_cents=pay_cents,
            assigned_at=at,
            updated_at=at,
        )
    )


async def withdraw(tx: Tx, route_id: UUID, reason: str, now: datetime) -> None:
    await tx.execute(
        update(routes)
        .where(routes.c.route_id == route_id)
        .values(status=RouteStatus.WITHDRAWN, withdrawn_reason=reason, updated_at=now)
    )


async def replace_stops(tx: Tx, route_id: UUID, stops: Sequence[RouteStop], now: datetime) -> None:
    await tx.execute(
        update(routes)
        .where(routes.c.route_id == route_id)
        .values(stops=[stop.model_dump(mode="json") for stop in stops], updated_at=now)
    )


async def add_offer(
    tx: Tx,
    *,
    offer_id: UUID,
    route: RouteRecord,
    round_number: int,
    pay_cents: int,
    surge_level: int,
    radius_m: float,
    candidates: Sequence[Candidate],
    now: datetime,
    expires_at: datetime,
) -> None:
    await tx.execute(
        offers.insert().values(
            offer_id=offer_id,
            route_id=route.route_id,
            round=round_number,
            pay_cents=pay_cents,
            hourly_floor_cents=route.hourly_floor_cents,
            surge_level=surge_level,
            radius_m=radius_m,
            status=OfferStatus.OPEN,
            created_at=now,
            expires_at=expires_at,
        )
    )
    await tx.execute(
        offer_views.insert(),
        [
            {
                "offer_id": offer_id,
                "driver_id": candidate.driver_id,
                "route_id": route.route_id,
                "shown_at": now,
                "pay_cents": pay_cents,
                "distance_m": round(candidate.distance_m, 1),
                "answer": Answer.PENDING,
            }
            for candidate in candidates
        ],
    )


async def get_offer(tx: Tx, offer_id: UUID) -> OfferRecord | None:
    row = (await tx.execute(select(offers).where(offers.c.offer_id == offer_id))).first()
    return None if row is None else _offer(row)


async def offers_of(tx: Tx, route_id: UUID) -> list[OfferRecord]:
    result = await tx.execute(
        select(offers).where(offers.c.route_id == route_id).order_by(offers.c.round)
    )
    return [_offer(row) for row in result.all()]


async def expired_open_offers(tx: Tx, now: datetime) -> list[OfferRecord]:
    result = await tx.execute(
        select(offers)
        .where(offers.c.status == OfferStatus.OPEN, offers.c.expires_at <= now)
        .order_by(offers.c.expires_at)
    )
    return [_offer(row) for row in result.all()]


async def close_offer(
    tx: Tx, offer_id: UUID, status: OfferStatus, *, pending_answer: Answer, now: datetime
) -> bool:
    """Closes an open offer and answers its drivers' pending views; False if it was not open."""
    result = await tx.execute(
        update(offers)
        .where(offers.c.offer_id == offer_id, offers.c.status == OfferStatus.OPEN)
        .values(status=status, closed_at=now)
        .returning(offers.c.offer_id)
    )
    if result.first() is None:
        return False
    await answer_pending(tx, offer_id, pending_answer, now)
    return True


async def set_offer_status(tx: Tx, offer_id: UUID, status: OfferStatus, now: datetime) -> None:
    await tx.execute(
        update(offers).where(offers.c.offer_id == offer_id).values(status=status, closed_at=now)
    )


async def answer_pending(tx: Tx, offer_id: UUID, answer: Answer, now: datetime) -> None:
    await tx.execute(
        update(offer_views)
        .where(offer_views.c.offer_id == offer_id, offer_views.c.answer == Answer.PENDING)
        .values(answer=answer, answered_at=now)
    )


async def answer_view(
    tx: Tx, offer_id: UUID, driver_id: UUID, answer: Answer, now: datetime
) -> bool:
    result = await tx.execute(
        update(offer_views)
        .where(offer_views.c.offer_id == offer_id, offer_views.c.driver_id == driver_id)
        .values(answer=answer, answered_at=now)
        .returning(offer_views.c.driver_id)
    )
    return result.first() is not None


async def count_pending(tx: Tx, offer_id: UUID) -> int:
    result = await tx.execute(
        select(func.count())
        .select_from(offer_views)
        .where(offer_views.c.offer_id == offer_id, offer_views.c.answer == Answer.PENDING)
    )
    return int(result.scalar_one())


async def best_pay_shown(tx: Tx, route_id: UUID) -> dict[UUID, int]:
    result = await tx.execute(
        select(offer_views.c.driver_id, func.max(offer_views.c.pay_cents))
        .where(offer_views.c.route_id == route_id)
        .group_by(offer_views.c.driver_id)
    )
    return {driver_id: int(pay) for driver_id, pay in result.all()}


async def drivers_holding_open_offers(tx: Tx) -> set[UUID]:
    result = await tx.execute(
        select(offer_views.c.driver_id)
        .join(offers, offers.c.offer_id == offer_views.c.offer_id)
        .where(offers.c.status == OfferStatus.OPEN, offer_views.c.answer == Answer.PENDING)
    )
    return set(result.scalars())


async def visibility_log(tx: Tx, route_id: UUID) -> list[ViewRecord]:
    result = await tx.execute(
        select(offer_views, offers.c.round)
        .join(offers, offers.c.offer_id == offer_views.c.offer_id)
        .where(offer_views.c.route_id == route_id)
        .order_by(offers.c.round, offer_views.c.distance_m, offer_views.c.driver_id)
    )
    return [
        ViewRecord(
            offer_id=row.offer_id,
            driver_id=row.driver_id,
            round=row.round,
            shown_at=row.shown_at,
            pay_cents=row.pay_cents,
            distance_m=row.distance_m,
            answer=Answer(row.answer),
            answered_at=row.answered_at,
        )
        for row in result.all()
    ]


async def on_board(tx: Tx, mall_id: str, assigned_since: datetime) -> list[RouteRecord]:
    """The operator console's routes of a mall: every one still looking for a driver, and those
    assigned since `assigned_since` (a finished route stays assigned: the day's figures count it).
    """
    result = await tx.execute(
        select(routes)
        .where(
            routes.c.mall_id == mall_id,
            or_(
                routes.c.status == RouteStatus.OFFERING,
                and_(
                    routes.c.status == RouteStatus.ASSIGNED,
                    routes.c.assigned_at >= assigned_since,
                ),
            ),
        )
        .order_by(routes.c.created_at, routes.c.route_id)
    )
    return [_route(row) for row in result.all()]
