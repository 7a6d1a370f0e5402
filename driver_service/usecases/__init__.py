"""Load, decide, save + outbox, one module per use case. Called by the API and the event
handlers; the caller owns `tx`. Callers use `usecases.<name>`, so each is re-exported here.
"""

from driver_service.usecases.blocks import blocks_of as blocks_of
from driver_service.usecases.blocks import cancel_block as cancel_block
from driver_service.usecases.blocks import schedule_block as schedule_block
from driver_service.usecases.delivery import Photo as Photo
from driver_service.usecases.delivery import complete_return as complete_return
from driver_service.usecases.delivery import deliver as deliver
from driver_service.usecases.delivery import fail as fail
from driver_service.usecases.delivery import proof_photo as proof_photo
from driver_service.usecases.delivery import record_wrong_pin as record_wrong_pin
from driver_service.usecases.drivers import Tokens as Tokens
from driver_service.usecases.drivers import driver_or_404 as driver_or_404
from driver_service.usecases.drivers import refresh_tokens as refresh_tokens
from driver_service.usecases.drivers import register_driver as register_driver
from driver_service.usecases.drivers import set_online as set_online
from driver_service.usecases.earnings import earnings_for as earnings_for
from driver_service.usecases.locations import update_location as update_location
from driver_service.usecases.offers import accept_offer as accept_offer
from driver_service.usecases.offers import decline_offer as decline_offer
from driver_service.usecases.offers import expire_offer as expire_offer
from driver_service.usecases.offers import record_offer as record_offer
from driver_service.usecases.pickup import arrive_at_pickup as arrive_at_pickup
from driver_service.usecases.pickup import pick_up as pick_up
from driver_service.usecases.route_changes import add_stops as add_stops
from driver_service.usecases.route_changes import add_tip as add_tip
from driver_service.usecases.route_changes import cancel_shipments as cancel_shipments
from driver_service.usecases.route_changes import release_route as release_route
from driver_service.usecases.routes import mark_assigned as mark_assigned
from driver_service.usecases.routes import route_for_driver as route_for_driver

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
