"""What dispatch's use cases share: the rules' parameters, where a mall is, saving a route
with its events, and telling the catalog a mall's capacity.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from dispatch_service.domain import capacity, pay, surge
from dispatch_service.domain.planning import PlanningPolicy
from dispatch_service.domain.pool import Timing
from dispatch_service.domain.route import Route
from dispatch_service.settings import DispatchSettings
from dispatch_service.store import routes, shipments
from shared import outbox, tracing
from shared.db import Tx
from shared.events.dispatch import ZoneCapacityChanged
from shared.events.envelope import Payload
from shared.geo import Point, TravelModel
from shared.malls import pilot_malls

CURRENCY = "USD"


@dataclass(frozen=True)
class Policies:
    """Every rule's parameters, built once from the settings."""

    planning: PlanningPolicy
    pay: pay.PayPolicy
    surge: surge.SurgePolicy
    capacity: capacity.CapacityPolicy
    round_interval: timedelta
    round_min_gap: timedelta
    round_trigger_size: int
    round_slack_trigger: timedelta
    max_route_packages: int
    offer_ttl: timedelta
    drivers_per_offer: int
    position_fresh: timedelta
    max_offer_rounds: int
    window_planning: timedelta
    orders_per_driver_hour: float
    rate_lookback: timedelta
    rate_prior_hours: float
    rate_max_gap: timedelta
    rate_position_fresh: timedelta

    @classmethod
    def from_settings(cls, settings: DispatchSettings) -> Policies:
        timing = Timing(
            travel=TravelModel(settings.road_factor, settings.average_speed_kmh),
            lead=timedelta(minutes=settings.dispatch_lead_minutes),
            pickup_service=timedelta(seconds=settings.pickup_service_seconds),
            delivery_service=timedelta(seconds=settings.delivery_service_seconds),
        )
        return cls(
            planning=PlanningPolicy(
                timing=timing,
                block=timedelta(minutes=settings.block_minutes),
                route_fixed_cost_m=settings.route_fixed_cost_m,
                late_delivery_window=timedelta(minutes=settings.late_delivery_window_minutes),
                solve_seconds=settings.solve_seconds,
                seed=settings.solve_seed,
            ),
            pay=pay.PayPolicy(
                hourly_cents={
                    pay.BlockType.SHORT: settings.short_block_hourly_cents,
                    pay.BlockType.STANDARD: settings.standard_block_hourly_cents,
                    pay.BlockType.LONG: settings.long_block_hourly_cents,
                },
                per_stop_cents=settings.per_stop_cents,
                per_mile_cents=settings.per_mile_cents,
            ),
            surge=surge.SurgePolicy(
                slack_thresholds=tuple(
                    timedelta(minutes=m) for m in settings.surge_slack_thresholds_minutes
                ),
                step_pct=settings.surge_step_pct,
                cap_pct=settings.surge_cap_pct,
                base_radius_m=settings.offer_radius_m,
                radius_step_m=settings.surge_radius_step_m,
                max_radius_m=settings.max_offer_radius_m,
            ),
            capacity=capacity.CapacityPolicy(
                at_risk_saturation_count=settings.at_risk_saturation_count,
                rounds=settings.saturation_rounds,
                promise_delay_minutes=settings.saturation_promise_delay_minutes,
            ),
            round_interval=timedelta(seconds=settings.batch_interval_seconds),
            round_min_gap=timedelta(seconds=settings.batch_min_gap_seconds),
            round_trigger_size=settings.batch_pool_trigger_size,
            round_slack_trigger=timedelta(minutes=settings.batch_slack_trigger_minutes),
            max_route_packages=settings.max_route_packages,
            offer_ttl=timedelta(seconds=settings.offer_ttl_seconds),
            drivers_per_offer=settings.drivers_per_offer,
            position_fresh=timedelta(seconds=settings.position_fresh_seconds),
            max_offer_rounds=settings.max_offer_rounds,
            window_planning=timedelta(minutes=settings.window_planning_minutes),
            orders_per_driver_hour=settings.orders_per_driver_hour,
            rate_lookback=timedelta(minutes=settings.fleet_rate_lookback_minutes),
            rate_prior_hours=settings.fleet_rate_prior_hours,
            rate_max_gap=timedelta(minutes=settings.fleet_rate_max_gap_minutes),
            rate_position_fresh=timedelta(
                minutes=max(
                    settings.fleet_rate_position_fresh_minutes,
                    settings.position_fresh_seconds / 60,
                )
            ),
        )


def mall_point(mall_id: str, fallback: Point) -> Point:
    """Drivers start and end at the mall; a mall outside the pilot list starts at its stores."""
    for mall in pilot_malls():
        if mall.id == mall_id:
            return mall.point
    return fallback


def pickup_area(mall_id: str, mall_name: str) -> str:
    for mall in pilot_malls():
        if mall.id == mall_id:
            # "3200 S Las Vegas Blvd, Las Vegas, NV 89109" -> "Las Vegas, NV 89109"
            return mall.address.partition(", ")[2] or mall.name
    return mall_name


async def save_with_events(tx: Tx, route: Route, events: list[Payload], now: datetime) -> None:
    await routes.save(tx, route, now)
    # With tracing on, a route's events go on in its orders' traces (their checkouts').
    orders_traces = (
        await shipments.trace_contexts_of_route(tx, route.route_id)
        if events and tracing.enabled()
        else []
    )
    with tracing.continuing("route step", orders_traces):
        for event in events:
            await outbox.add(tx, event, key=route.mall_id)


async def tell_capacity(tx: Tx, mall_id: str, signal: capacity.CapacitySignal) -> None:
    """The catalog learns what the mall may promise from this event, in the same transaction."""
    await outbox.add(
        tx,
        ZoneCapacityChanged(
            mall_id=mall_id,
            same_day_enabled=signal.same_day_enabled,
            promise_delay_minutes=signal.promise_delay_minutes,
            reason=signal.reason,
        ),
        key=mall_id,
    )
