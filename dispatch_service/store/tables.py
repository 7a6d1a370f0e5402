from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Table,
    Text,
    Uuid,
    false,
)
from sqlalchemy.dialects.postgresql import JSONB

from shared.tables import service_metadata

metadata = service_metadata()

# One row per shipment (one store's part of an order) dispatch has been told is packed.
# status: pooled (waiting for a route), routed (on a route), cancelled.
shipments = Table(
    "shipments",
    metadata,
    Column("shipment_id", Uuid, primary_key=True),
    Column("order_id", Uuid, nullable=False),
    Column("mall_id", Text, nullable=False),
    Column("mall_name", Text, nullable=False),
    Column("store_id", Text, nullable=False),
    Column("store_name", Text, nullable=False),
    Column("pickup_instructions", Text, nullable=False),
    Column("pickup_lat", Float, nullable=False),
    Column("pickup_lng", Float, nullable=False),
    Column("package_count", Integer, nullable=False),
    Column("labels", JSONB, nullable=False),
    Column("ready_at", DateTime(timezone=True), nullable=False),
    Column("deliver_by", DateTime(timezone=True), nullable=False),
    Column("deliver_from", DateTime(timezone=True)),
    Column("dropoff_lat", Float, nullable=False),
    Column("dropoff_lng", Float, nullable=False),
    Column("dropoff_address", Text, nullable=False),
    Column("dropoff_area", Text, nullable=False),
    Column("pin_sha256", Text),
    Column("status", Text, nullable=False),
    Column("route_id", Uuid),
    Column("at_risk_at", DateTime(timezone=True)),
    # The order's trace (its checkout's) when tracing is on: its route's events continue it.
    Column("trace_context", JSONB),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_shipments_mall_status", "mall_id", "status"),
    Index("ix_shipments_order_id", "order_id"),
)

# status: offering (looking for a driver), assigned, withdrawn (back to the pool), completed.
routes = Table(
    "routes",
    metadata,
    Column("route_id", Uuid, primary_key=True),
    Column("mall_id", Text, nullable=False),
    Column("mall_name", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("stops", JSONB, nullable=False),
    Column("planned_miles", Float, nullable=False),
    Column("planned_minutes", Integer, nullable=False),
    Column("max_load", Integer, nullable=False),
    Column("depart_at", DateTime(timezone=True), nullable=False),
    Column("latest_start_at", DateTime(timezone=True), nullable=False),
    Column("block_type", Text, nullable=False),
    Column("block_minutes", Integer, nullable=False),
    Column("hourly_floor_cents", Integer, nullable=False),
    Column("base_pay_cents", Integer, nullable=False),
    Column("currency", Text, nullable=False),
    Column("driver_id", Uuid),
    Column("offer_id", Uuid),
    Column("pay_cents", Integer),
    Column("assigned_at", DateTime(timezone=True)),
    Column("withdrawn_reason", Text),
    # An accepted route's progress as the driver service reports it: stop id -> status.
    Column("progress", JSONB, nullable=False, server_default="{}"),
    Column("revision", Integer, nullable=False, server_default="0"),
    Column("released_at", DateTime(timezone=True)),
    Column("completed_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_routes_mall_status", "mall_id", "status"),
)

# A shipment re-routed away from a shipment on an accepted route: once packed, it may join
# that route (domain/route.py, add_shipment).
reroutes = Table(
    "reroutes",
    metadata,
    Column("to_shipment_id", Uuid, primary_key=True),
    Column("route_id", Uuid, nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# One offer round of a route. status: open, accepted, expired, declined, withdrawn.
offers = Table(
    "offers",
    metadata,
    Column("offer_id", Uuid, primary_key=True),
    Column("route_id", Uuid, ForeignKey("routes.route_id"), nullable=False),
    Column("round", Integer, nullable=False),
    Column("pay_cents", Integer, nullable=False),
    Column("hourly_floor_cents", Integer, nullable=False),
    Column("surge_level", Integer, nullable=False),
    Column("radius_m", Float, nullable=False),
    Column("status", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("closed_at", DateTime(timezone=True)),
    Index("ix_offers_route_id", "route_id"),
    Index("ix_offers_status_expires_at", "status", "expires_at"),
)

# The visibility log: which driver was shown which offer, when, at what pay, and the answer
# (pending, accepted, declined, expired, taken, withdrawn).
offer_views = Table(
    "offer_views",
    metadata,
    Column("offer_id", Uuid, ForeignKey("offers.offer_id"), primary_key=True),
    Column("driver_id", Uuid, primary_key=True),
    Column("route_id", Uuid, nullable=False),
    Column("shown_at", DateTime(timezone=True), nullable=False),
    Column("pay_cents", Integer, nullable=False),
    Column("distance_m", Float, nullable=False),
    Column("answer", Text, nullable=False),
    Column("answered_at", DateTime(timezone=True)),
    Index("ix_offer_views_route_id", "route_id"),
    Index("ix_offer_views_driver_id_answer", "driver_id", "answer"),
)

drivers = Table(
    "drivers",
    metadata,
    Column("driver_id", Uuid, primary_key=True),
    Column("is_online", Boolean, nullable=False),
    Column("vehicle_type", Text, nullable=False),
    Column("capacity_packages", Integer, nullable=False),
    Column("lat", Float),
    Column("lng", Float),
    Column("position_at", DateTime(timezone=True)),
    Column("current_route_id", Uuid),
    Column("assigned_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Per mall: when it was last planned, and its same-day capacity state (domain/capacity.py).
mall_states = Table(
    "mall_states",
    metadata,
    Column("mall_id", Text, primary_key=True),
    Column("last_round_at", DateTime(timezone=True)),
    Column("capacity_status", Text, nullable=False),
    Column("pending_status", Text),
    Column("pending_rounds", Integer, nullable=False),
    Column("capacity_changed_at", DateTime(timezone=True)),
    # The last round left shipments behind for want of drivers: a freed driver pulls the next.
    Column("is_short_of_drivers", Boolean, nullable=False, server_default=false()),
    # The fleet's rate last told to the catalog and the order service (orders an hour).
    Column("orders_per_hour", Float),
    # An operator paused same-day from the console: rounds go on, their signals wait for resume.
    Column("is_paused", Boolean, nullable=False, server_default=false()),
    Column("paused_at", DateTime(timezone=True)),
    Column("paused_by", Text),
)

# The operator console's read models, fed by the events dispatch consumes.

# The catalog's store directory (store.upserted): the console draws a mall's stores.
stores = Table(
    "stores",
    metadata,
    Column("store_id", Text, primary_key=True),
    Column("mall_id", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("lat", Float, nullable=False),
    Column("lng", Float, nullable=False),
    Column("prep_minutes", Integer, nullable=False),
    Column("is_active", Boolean, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_stores_mall_id", "mall_id"),
)

# One row per shipment from checkout to the door (or back to its store): the console's
# exceptions and the day's figures. Events of several topics fill it in whatever order they
# come, so every milestone column may still be empty.
shipment_progress = Table(
    "shipment_progress",
    metadata,
    Column("shipment_id", Uuid, primary_key=True),
    Column("order_id", Uuid, nullable=False),
    Column("mall_id", Text, nullable=False),
    Column("store_id", Text),
    Column("deliver_by", DateTime(timezone=True)),
    Column("placed_at", DateTime(timezone=True)),
    Column("accepted_at", DateTime(timezone=True)),
    Column("ready_at", DateTime(timezone=True)),
    Column("picked_up_at", DateTime(timezone=True)),
    Column("delivered_at", DateTime(timezone=True)),
    Column("failed_at", DateTime(timezone=True)),
    Column("failure_reason", Text),
    Column("returned_at", DateTime(timezone=True)),
    Column("cancelled_at", DateTime(timezone=True)),
    Column("route_id", Uuid),
    Column("driver_id", Uuid),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_shipment_progress_mall_id_placed_at", "mall_id", "placed_at"),
    Index("ix_shipment_progress_route_id", "route_id"),
)

# The audit log of the console: who did what to which mall, route, shipment or driver.
# outcome: done, refused (the owning service said no), failed (it could not be reached).
operator_actions = Table(
    "operator_actions",
    metadata,
    Column("action_id", Uuid, primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("operator", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("mall_id", Text),
    Column("target_id", Text),
    Column("detail", JSONB, nullable=False),
    Column("outcome", Text, nullable=False),
    Column("message", Text, nullable=False),
    Index("ix_operator_actions_mall_id_at", "mall_id", "at"),
)

# Messages the suite's consumers gave up on (`<topic>.dlq`), one row per dead letter.
dead_letters = Table(
    "dead_letters",
    metadata,
    Column("topic", Text, primary_key=True),
    Column("partition_no", Integer, primary_key=True),
    Column("message_offset", BigInteger, primary_key=True),
    Column("original_topic", Text, nullable=False),
    Column("event_type", Text),
    Column("mall_id", Text),
    Column("consumer", Text),
    Column("error", Text, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Index("ix_dead_letters_received_at", "received_at"),
)
