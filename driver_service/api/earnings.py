from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel

from driver_service import usecases
from driver_service.api.deps import DriverDep
from driver_service.domain.earnings import EARLIEST_DAY, LATEST_DAY, Period, RoutePay, summarize
from shared import clock
from shared.api import DbDep
from shared.problems import PROBLEM

router = APIRouter(tags=["earnings"])

_ROUTE_PAY: dict[str, Any] = {
    "pay_cents": 1450,
    "wait_pay_cents": 120,
    "floor_top_up_cents": 0,
    "tip_cents": 500,
    "total_cents": 2070,
    "worked_minutes": 47.5,
}
EARNINGS_EXAMPLE: dict[str, Any] = {
    "period": "day",
    "starts_at": "2026-11-25T00:00:00Z",
    "ends_at": "2026-11-26T00:00:00Z",
    "currency": "USD",
    "routes": 1,
    "totals": _ROUTE_PAY,
    "by_route": [
        {
            **_ROUTE_PAY,
            "route_id": "5d0e7b3a-9c41-4f2e-8b6d-0a1f2e3d4c5b",
            "mall_id": "fashion-show-las-vegas",
            "completed_at": "2026-11-25T20:07:30Z",
        }
    ],
}


class PayView(BaseModel):
    pay_cents: int
    wait_pay_cents: int
    floor_top_up_cents: int
    tip_cents: int
    total_cents: int
    worked_minutes: float

    @classmethod
    def of(cls, pay: RoutePay) -> PayView:
        return cls(
            pay_cents=pay.pay_cents,
            wait_pay_cents=pay.wait_pay_cents,
            floor_top_up_cents=pay.floor_top_up_cents,
            tip_cents=pay.tip_cents,
            total_cents=pay.total_cents,
            worked_minutes=round(pay.worked_seconds / 60, 1),
        )


class RouteEarningView(PayView):
    route_id: UUID
    mall_id: str
    completed_at: datetime


class EarningsView(BaseModel):
    period: Period
    starts_at: datetime
    ends_at: datetime
    currency: str
    routes: int
    totals: PayView
    by_route: list[RouteEarningView]


@router.get(
    "/v1/drivers/me/earnings",
    responses={
        200: {"content": {"application/json": {"example": EARNINGS_EXAMPLE}}},
        401: PROBLEM,
        422: PROBLEM,
    },
)
async def my_earnings(
    db: DbDep,
    driver: DriverDep,
    period: Annotated[Period, Query(examples=[Period.DAY])] = Period.DAY,
    day: Annotated[
        date | None,
        Query(
            ge=EARLIEST_DAY,
            le=LATEST_DAY,
            description="A day in the period (UTC); today if absent",
            examples=["2026-11-25"],
        ),
    ] = None,
) -> EarningsView:
    """Completed routes' pay: as offered, wait pay, hourly-floor top-up, tips."""
    async with db.begin() as tx:
        start, end, items = await usecases.earnings_for(
            tx, driver.id, period, day or clock.now().date()
        )
    total = summarize(i.pay for i in items)
    return EarningsView(
        period=period,
        starts_at=start,
        ends_at=end,
        currency=items[0].currency if items else "USD",
        routes=total.routes,
        totals=PayView(
            pay_cents=total.pay_cents,
            wait_pay_cents=total.wait_pay_cents,
            floor_top_up_cents=total.floor_top_up_cents,
            tip_cents=total.tip_cents,
            total_cents=total.total_cents,
            worked_minutes=round(total.worked_seconds / 60, 1),
        ),
        by_route=[
            RouteEarningView(
                route_id=i.route_id,
                mall_id=i.mall_id,
                completed_at=i.completed_at,
                **PayView.of(i.pay).model_dump(),
            )
            for i in items
        ],
    )
