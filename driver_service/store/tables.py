from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    Table,
    Text,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from shared.tables import service_metadata

metadata = service_metadata()

drivers = Table(
    "drivers",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", Text, nullable=False),
    Column("phone", Text, nullable=False, unique=True),
    Column("vehicle_type", Text, nullable=False),
    Column("capacity_packages", Integer, nullable=False),
    Column("is_online", Boolean, nullable=False, server_default="false"),
    Column("lat", Float),
    Column("lng", Float),
    Column("location_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("jti", Uuid, primary_key=True),
    Column("driver_id", Uuid, ForeignKey("drivers.id"), nullable=False, index=True),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
)

blocks = Table(
    "blocks",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("driver_id", Uuid, ForeignKey("drivers.id"), nullable=False, index=True),
    Column("mall_id", Text, nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
)

offers = Table(
    "offers",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("route_id", Uuid, nullable=False, index=True),
    Column("mall_id", Text, nullable=False),
    Column("mall_name", Text, nullable=False),
    Column("pay_cents", Integer, nullable=False),
    Column("currency", Text, nullable=False),
    Column("hourly_floor_cents", Integer, nullable=False),
    Column("block_minutes", Integer, nullable=False),
    Column("expected_miles", Float, nullable=False),
    Column("stop_count", Integer, nullable=False),
    Column("pickup_area", Text, nullable=False),
    Column("stops", JSONB, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("round", Integer, nullable=False),
    # open | accepted | expired
    Column("status", Text, nullable=False),
    Column("accepted_by", Uuid),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_offers_open", "expires_at", postgresql_where="status = 'open'"),
)

offer_drivers = Table(
    "offer_drivers",
    metadata,
    Column("offer_id", Uuid, ForeignKey("offers.id"), primary_key=True),
    Column("driver_id", Uuid, primary_key=True, index=True),
    Column("declined_at", DateTime(timezone=True)),
)

routes = Table(
    "routes",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("offer_id", Uuid, ForeignKey("offers.id"), nullable=False, unique=True),
    Column("driver_id", Uuid, ForeignKey("drivers.id"), nullable=False, index=True),
    Column("mall_id", Text, nullable=False),
    Column("pay_cents", Integer, nullable=False),
    Column("currency", Text, nullable=False),
    Column("hourly_floor_cents", Integer, nullable=False),
    Column("block_minutes", Integer, nullable=False),
    Column("tip_cents", Integer, nullable=False, server_default="0"),
    Column("accepted_at", DateTime(timezone=True), nullable=False),
    Column("assigned_at", DateTime(timezone=True)),
    Column("completed_at", DateTime(timezone=True)),
    # Grows with each change of the stops: the revision of route.stops_changed.
    Column("revision", Integer, nullable=False, server_default="0"),
)

route_stops = Table(
    "route_stops",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("route_id", Uuid, ForeignKey("routes.id"), nullable=False, index=True),
    Column("sequence", Integer, nullable=False),
    # pickup | dropoff | return
    Column("kind", Text, nullable=False),
    Column("shipment_id", Uuid, nullable=False),
    Column("order_id", Uuid, nullable=False),
    Column("store_id", Text, nullable=False),
    Column("store_name", Text, nullable=False),
    Column("lat", Float, nullable=False),
    Column("lng", Float, nullable=False),
    Column("address", Text, nullable=False),
    Column("area", Text, nullable=False),
    Column("instructions", Text, nullable=False),
    Column("labels", ARRAY(Text), nullable=False),
    Column("package_count", Integer, nullable=False),
    Column("eta", DateTime(timezone=True), nullable=False),
    Column("deliver_by", DateTime(timezone=True), nullable=False),
    Column("deliver_from", DateTime(timezone=True)),
    Column("pin_sha256", Text),
    # pending | picked_up | delivered | failed | returned | cancelled
    Column("status", Text, nullable=False),
    Column("picked_labels", ARRAY(Text)),
    Column("missing_labels", ARRAY(Text)),
    Column("arrived_at", DateTime(timezone=True)),
    Column("done_at", DateTime(timezone=True)),
    Column("fail_reason", Text),
    Column("proof_photo_sha256", Text),
    Column("wait_pay_cents", Integer, nullable=False, server_default="0"),
)

photos = Table(
    "photos",
    metadata,
    Column("sha256", Text, primary_key=True),
    Column("content_type", Text, nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Orders cancelled while their route may still be only an offer: applied when it is accepted.
cancelled_shipments = Table(
    "cancelled_shipments",
    metadata,
    Column("shipment_id", Uuid, primary_key=True),
    Column("cancelled_at", DateTime(timezone=True), nullable=False),
)

# Every wrong delivery PIN entered: fraud review reads them, and too many lock the stop.
wrong_pins = Table(
    "wrong_pins",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("stop_id", Uuid, nullable=False, index=True),
    Column("route_id", Uuid, nullable=False),
    Column("driver_id", Uuid, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)
