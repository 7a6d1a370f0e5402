"""Earnings: each completed route's pay over a period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from driver_service.domain import earnings
from driver_service.store import routes as route_store
from shared.db import Tx


@dataclass(frozen=True)
class RouteEarning:
    route_id: UUID
    mall_id: str
    completed_at: datetime
    currency: str
    pay: earnings.RoutePay


async def earnings_for(
    tx: Tx, driver_id: UUID, period: earnings.Period, day: date
) -> tuple[datetime, datetime, list[RouteEarning]]:
    start, end = earnings.period_bounds(period, day)
    rows = await route_store.completed_routes(tx, driver_id, start, end)
    items = [
        RouteEarning(
            route_id=row.id,
            mall_id=row.mall_id,
            completed_at=row.completed_at,
            currency=row.currency,
            pay=earnings.route_pay(
                pay_cents=row.pay_cents,
                hourly_floor_cents=row.hourly_floor_cents,
                started_at=row.accepted_at,
                finished_at=row.completed_at,
                wait_pay_cents=int(row.wait_pay_cents),
                tip_cents=row.tip_cents,
            ),
        )
        for row in rows
    ]
    return start, end, items
