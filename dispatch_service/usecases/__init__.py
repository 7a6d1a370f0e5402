"""Dispatch's use cases: load, decide with domain/, save and add events in one transaction.
One module per use case; callers use `usecases.<name>`, so each is re-exported here.
"""

from dispatch_service.usecases.base import CURRENCY as CURRENCY
from dispatch_service.usecases.base import Policies as Policies
from dispatch_service.usecases.base import mall_point as mall_point
from dispatch_service.usecases.base import pickup_area as pickup_area
from dispatch_service.usecases.driver_reports import follow_driver as follow_driver
from dispatch_service.usecases.driver_reports import record_availability as record_availability
from dispatch_service.usecases.driver_reports import record_location as record_location
from dispatch_service.usecases.driver_reports import take_back_refused as take_back_refused
from dispatch_service.usecases.fleet_rates import tell_fleet_rates as tell_fleet_rates
from dispatch_service.usecases.intake import drop_cancelled_shipments as drop_cancelled_shipments
from dispatch_service.usecases.intake import record_reroute as record_reroute
from dispatch_service.usecases.intake import take_into_pool as take_into_pool
from dispatch_service.usecases.offers import advance_route as advance_route
from dispatch_service.usecases.offers import record_offer_accepted as record_offer_accepted
from dispatch_service.usecases.offers import record_offer_declined as record_offer_declined
from dispatch_service.usecases.offers import run_offer_rounds as run_offer_rounds
from dispatch_service.usecases.operators import ActionRefused as ActionRefused
from dispatch_service.usecases.operators import record_order_accepted as record_order_accepted
from dispatch_service.usecases.operators import record_order_placed as record_order_placed
from dispatch_service.usecases.operators import record_stop_done as record_stop_done
from dispatch_service.usecases.operators import record_store as record_store
from dispatch_service.usecases.operators import reoffer_with_boost as reoffer_with_boost
from dispatch_service.usecases.operators import set_same_day_paused as set_same_day_paused
from dispatch_service.usecases.rounds import RoundReport as RoundReport
from dispatch_service.usecases.rounds import plan_mall as plan_mall
from dispatch_service.usecases.rounds import run_due_rounds as run_due_rounds

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
