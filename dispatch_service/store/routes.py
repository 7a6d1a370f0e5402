from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from dispatch_service.domain.offers import Answer, Candidate, Offer, OfferStatus
from dispatch_service.domain.route import Route, RouteStatus
from dispatch_service.store.tables import offer_views, offers, reroutes, routes
from shared.db import Tx
from shared.events.dispatch import RouteStop
from shared.events.driver import StopStatus


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


def _route(row: Any, offers: list[Offer]) -> Route:
    return Route(
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
        progress={UUID(k): StopStatus(v) for k, v in dict(row.progress or {}).items()},
        revision=row.revision,
        released_at=row.released_at,
        completed_at=row.completed_at,
        created_at=row.created_at,
        offers=offers,
    )


def _offer(row: Any) -> Offer:
    return Offer(
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


def _route_values(route: Route) -> dict[str, Any]:
    return {
        "status": route.status.value,
        "stops": [stop.model_dump(mode="json") for stop in route.stops],
        "max_load": route.max_load,
        "driver_id": route.driver_id,
        "offer_id": route.offer_id,
        "pay_cents": route.pay_cents,
        "assigned_at": route.assigned_at,
        "withdrawn_reason": route.withdrawn_reason,
        "progress": {str(k): v.value for k, v in route.progress.items()},
        "revision": route.revision,
        "released_at": route.released_at,
        "completed_at": route.completed_at,
    }


async def insert(tx: Tx, route: Route, now: datetime) -> None:
    await tx.execute(
        routes.insert().values(
            route_id=route.route_id,
            mall_id=route.mall_id,
            mall_name=route.mall_name,
            planned_miles=route.planned_miles,
            planned_minutes=route.planned_minutes,
            depart_at=route.depart_at,
            latest_start_at=route.latest_start_at,
            block_type=route.block_type,
            block_minutes=route.block_minutes,
            hourly_floor_cents=route.hourly_floor_cents,
            base_pay_cents=route.base_pay_cents,
            currency=route.currency,
            created_at=now,
            updated_at=now,
            **_route_values(route),
        )
    )


async def save(tx: Tx, route: Route, now: datetime) -> None:
    """Writes back what the domain may change: the route and each of its offers."""
    await tx.execute(
        update(routes)
        .where(routes.c.route_id == route.route_id)
        .values(updated_at=now, **_route_values(route))
    )
    known = set(
        (await tx.execute(select(offers.c.offer_id).where(offers.c.route_id == route.route_id)))
        .scalars()
        .all()
    )
    for offer in route.offers:
        values = {"status": offer.status.value, "closed_at": offer.closed_at}
        if offer.offer_id not in known:
            await tx.execute(
                offers.insert().values(
                    offer_id=offer.offer_id,
                    route_id=offer.route_id,
                    round=offer.round,
                    pay_cents=offer.pay_cents,
                    hourly_floor_cents=offer.hourly_floor_cents,
                    surge_level=offer.surge_level,
                    radius_m=offer.radius_m,
                    created_at=offer.created_at,
                    expires_at=offer.expires_at,
                    **values,
                )
            )
        else:
            await tx.execute(
                update(offers).where(offers.c.offer_id == offer.offer_id).values(**values)
            )
        if offer.closing_answer is not None:
            await answer_pending(tx, offer.offer_id, offer.closing_answer, now)
            offer.closing_answer = None


async def get(tx: Tx, route_id: UUID, *, for_update: bool = False) -> Route | None:
    query = select(routes).where(routes.c.route_id == route_id)
    if for_update:
        query = query.with_for_update()
    row = (await tx.execute(query)).first()
    return None if row is None else _route(row, await offers_of(tx, route_id))


async def lock_offering(tx: Tx, route_id: UUID) -> Route | None:
    """The route if it still looks for a driver and no one else is working on it right now."""
    row = (
        await tx.execute(
            select(routes)
            .where(routes.c.route_id == route_id, routes.c.status == RouteStatus.OFFERING)
            .with_for_update(skip_locked=True)
        )
    ).first()
    return None if row is None else _route(row, await offers_of(tx, route_id))


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


async def add_views(
    tx: Tx,
    *,
    offer_id: UUID,
    route_id: UUID,
    pay_cents: int,
    candidates: Sequence[Candidate],
    now: datetime,
) -> None:
    """The visibility log: who was shown the offer, at what pay and distance."""
    await tx.execute(
        offer_views.insert(),
        [
            {
                "offer_id": offer_id,
                "driver_id": candidate.driver_id,
                "route_id": route_id,
                "shown_at": now,
                "pay_cents": pay_cents,
                "distance_m": round(candidate.distance_m, 1),
                "answer": Answer.PENDING,
            }
            for candidate in candidates
        ],
    )


async def get_offer(tx: Tx, offer_id: UUID) -> Offer | None:
    row = (await tx.execute(select(offers).where(offers.c.offer_id == offer_id))).first()
    return None if row is None else _offer(row)


async def offers_of(tx: Tx, route_id: UUID) -> list[Offer]:
    result = await tx.execute(
        select(offers).where(offers.c.route_id == route_id).order_by(offers.c.round)
    )
    return [_offer(row) for row in result.all()]


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


async def link_reroute(tx: Tx, to_shipment_id: UUID, route_id: UUID, now: datetime) -> None:
    await tx.execute(
        pg_insert(reroutes)
        .values(to_shipment_id=to_shipment_id, route_id=route_id, created_at=now)
        .on_conflict_do_nothing()
    )


async def rerouted_to(tx: Tx, shipment_id: UUID) -> UUID | None:
    """The accepted route a re-routed shipment may join, if it was re-routed from one."""
    result = await tx.execute(
        select(reroutes.c.route_id).where(reroutes.c.to_shipment_id == shipment_id)
    )
    value = result.scalar_one_or_none()
    return None if value is None else UUID(str(value))


async def unlink_reroutes(tx: Tx, shipment_ids: Sequence[UUID]) -> list[UUID]:
    """Drops these shipments' links; returns the routes they pointed at."""
    result = await tx.execute(
        delete(reroutes)
        .where(reroutes.c.to_shipment_id.in_(list(shipment_ids)))
        .returning(reroutes.c.route_id)
    )
    return sorted({UUID(str(r)) for r in result.scalars()}, key=str)


async def has_reroutes(tx: Tx, route_id: UUID) -> bool:
    result = await tx.execute(
        select(reroutes.c.to_shipment_id).where(reroutes.c.route_id == route_id)
    )
    return result.first() is not None


async def on_board(tx: Tx, mall_id: str, taken_since: datetime) -> list[Route]:
    """The operator console's routes of a mall, with their offers: every one still looking for
    a driver, and those a driver took since `taken_since`, under way or completed (the day's
    figures count them)."""
    result = await tx.execute(
        select(routes)
        .where(
            routes.c.mall_id == mall_id,
            or_(
                routes.c.status == RouteStatus.OFFERING,
                and_(
                    routes.c.status.in_([RouteStatus.ASSIGNED, RouteStatus.COMPLETED]),
                    routes.c.assigned_at >= taken_since,
                ),
            ),
        )
        .order_by(routes.c.created_at, routes.c.route_id)
    )
    rows = result.all()
    by_route: dict[UUID, list[Offer]] = {row.route_id: [] for row in rows}
    if by_route:
        # One query for every route's offers: a busy mall has hundreds of routes.
        found = await tx.execute(
            select(offers)
            .where(offers.c.route_id.in_(list(by_route)))
            .order_by(offers.c.route_id, offers.c.round)
        )
        for row in found.all():
            by_route[row.route_id].append(_offer(row))
    return [_route(row, by_route[row.route_id]) for row in rows]


async def completed_since(tx: Tx, mall_id: str, since: datetime) -> list[Route]:
    """A mall's routes a driver took and finished, the last ones from `since` on: what its
    fleet's rate is measured on (no offers: only the route's own times and stops)."""
    result = await tx.execute(
        select(routes)
        .where(
            routes.c.mall_id == mall_id,
            routes.c.status == RouteStatus.COMPLETED,
            routes.c.assigned_at.is_not(None),
            routes.c.completed_at >= since,
        )
        .order_by(routes.c.assigned_at)
    )
    return [_route(row, []) for row in result.all()]
