from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

from shared.tables import service_metadata

metadata = service_metadata()

malls = Table(
    "malls",
    metadata,
    Column("id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("address", Text, nullable=False),
    Column("lat", Float, nullable=False),
    Column("lng", Float, nullable=False),
    Column("timezone", Text, nullable=False),
    # weekday ("mon".."sun") -> ["HH:MM", "HH:MM"], local time of the mall
    Column("hours", JSONB, nullable=False),
    Column("delivery_radius_m", Integer, nullable=False),
    Column("road_factor", Float, nullable=False),
    Column("average_speed_kmh", Float, nullable=False),
    Column("cutoff_minutes_before_close", Integer, nullable=False),
    Column("prep_minutes", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

retailers = Table(
    "retailers",
    metadata,
    Column("id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("api_key_sha256", Text, nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

stores = Table(
    "stores",
    metadata,
    Column("id", Text, primary_key=True),
    Column("retailer_id", Text, ForeignKey("retailers.id"), nullable=False, index=True),
    Column("mall_id", Text, ForeignKey("malls.id"), nullable=False, index=True),
    Column("name", Text, nullable=False),
    Column("address", Text, nullable=False),
    Column("phone", Text, nullable=False),
    Column("lat", Float, nullable=False),
    Column("lng", Float, nullable=False),
    Column("prep_minutes", Integer, nullable=False),
    Column("pickup_instructions", Text, nullable=False),
    Column("is_active", Boolean, nullable=False, server_default="true"),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

products = Table(
    "products",
    metadata,
    Column("sku", Text, primary_key=True),
    # The retailer that created the product; only it may change it.
    Column("retailer_id", Text, ForeignKey("retailers.id"), nullable=False, index=True),
    Column("gtin", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("brand", Text, nullable=False),
    Column("category", Text, nullable=False),
    Column("price_cents", Integer, nullable=False),
    Column("currency", Text, nullable=False),
    Column("image_urls", JSONB, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("price_cents >= 0", name="price_cents_not_negative"),
)

inventory = Table(
    "inventory",
    metadata,
    Column("store_id", Text, ForeignKey("stores.id"), primary_key=True),
    Column("sku", Text, ForeignKey("products.sku"), primary_key=True),
    Column("quantity", Integer, nullable=False),
    # The retailer's own time of the count; older counts are stale.
    Column("as_of", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("quantity >= 0", name="quantity_not_negative"),
    Index("ix_inventory_sku", "sku"),
)

zone_capacity = Table(
    "zone_capacity",
    metadata,
    Column("mall_id", Text, ForeignKey("malls.id"), primary_key=True),
    # "" for the mall's whole delivery area, else an h3 cell.
    Column("h3_cell", Text, primary_key=True),
    Column("same_day_enabled", Boolean, nullable=False),
    Column("promise_delay_minutes", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
