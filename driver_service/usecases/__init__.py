"""Load, decide, save + outbox, one module per use case. Called by the API and the event
handlers; the caller owns `tx`. Callers use `usecases.<name>`, so each is re-exported here.
"""

from driver_service.usecases.blocks import blocks_of, cancel_block, schedule_block
from driver_service.usecases.delivery import (
    Photo,
    complete_return,
    deliver,
    fail,
    proof_photo,
    record_wrong_pin,
)
from driver_service.usecases.drivers import (
    Tokens,
    driver_or_404,
    refresh_tokens,
    register_driver,
    set_online,
)
from driver_service.usecases.earnings import earnings_for
from driver_service.usecases.locations import update_location
from driver_service.usecases.offers import accept_offer, decline_offer, expire_offer, record_offer
from driver_service.usecases.pickup import arrive_at_pickup, pick_up
from driver_service.usecases.route_changes import (
    add_stops,
    add_tip,
    cancel_shipments,
    release_route,
)
from driver_service.usecases.routes import mark_assigned, route_for_driver

__all__ = [
    "Photo",
    "Tokens",
    "accept_offer",
    "add_stops",
    "add_tip",
    "arrive_at_pickup",
    "blocks_of",
    "cancel_block",
    "cancel_shipments",
    "complete_return",
    "decline_offer",
    "deliver",
    "driver_or_404",
    "earnings_for",
    "expire_offer",
    "fail",
    "mark_assigned",
    "pick_up",
    "proof_photo",
    "record_offer",
    "record_wrong_pin",
    "refresh_tokens",
    "register_driver",
    "release_route",
    "route_for_driver",
    "schedule_block",
    "set_online",
    "update_location",
]
