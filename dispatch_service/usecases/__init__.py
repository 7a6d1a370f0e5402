"""Dispatch's use cases: load, decide with domain/, save and add events in one transaction.
One module per use case; callers use `usecases.<name>`, so each is re-exported here.
"""

from dispatch_service.usecases.base import CURRENCY, Policies, mall_point, pickup_area
from dispatch_service.usecases.driver_reports import (
    follow_driver,
    record_availability,
    record_location,
    take_back_refused,
)
from dispatch_service.usecases.fleet_rates import tell_fleet_rates
from dispatch_service.usecases.intake import (
    drop_cancelled_shipments,
    record_reroute,
    take_into_pool,
)
from dispatch_service.usecases.offers import (
    advance_route,
    record_offer_accepted,
    record_offer_declined,
    run_offer_rounds,
)
from dispatch_service.usecases.operators import (
    ActionRefused,
    record_order_accepted,
    record_order_placed,
    record_stop_done,
    record_store,
    reoffer_with_boost,
    set_same_day_paused,
)
from dispatch_service.usecases.rounds import RoundReport, plan_mall, run_due_rounds

__all__ = [
    "CURRENCY",
    "ActionRefused",
    "Policies",
    "RoundReport",
    "advance_route",
    "drop_cancelled_shipments",
    "follow_driver",
    "mall_point",
    "pickup_area",
    "plan_mall",
    "record_availability",
    "record_location",
    "record_offer_accepted",
    "record_offer_declined",
    "record_order_accepted",
    "record_order_placed",
    "record_reroute",
    "record_stop_done",
    "record_store",
    "reoffer_with_boost",
    "run_due_rounds",
    "run_offer_rounds",
    "set_same_day_paused",
    "take_back_refused",
    "take_into_pool",
    "tell_fleet_rates",
]
