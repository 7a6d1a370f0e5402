"""pool routes offers drivers

Revision ID: dispatch_0002
Revises: dispatch_0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "dispatch_0002"
down_revision: str | None = "dispatch_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "drivers",
        sa.Column("driver_id", sa.Uuid(), nullable=False),
        sa.Column("is_online", sa.Boolean(), nullable=False),
        sa.Column("vehicle_type", sa.Text(), nullable=False),
        sa.Column("capacity_packages", sa.Integer(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lng", sa.Float(), nullable=True),
        sa.Column("position_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("current_route_id", sa.Uuid(), nullable=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("driver_id", name=op.f("pk_drivers")),
    )
    op.create_table(
        "mall_states",
        sa.Column("mall_id", sa.Text(), nullable=False),
        sa.Column("last_round_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("capacity_status", sa.Text(), nullable=False),
        sa.Column("pending_status", sa.Text(), nullable=True),
        sa.Column("pending_rounds", sa.Integer(), nullable=False),
        sa.Column("capacity_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("mall_id", name=op.f("pk_mall_states")),
    )
    op.create_table(
        "routes",
        sa.Column("route_id", sa.Uuid(), nullable=False),
        sa.Column("mall_id", sa.Text(), nullable=False),
        sa.Column("mall_name", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("stops", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("planned_miles", sa.Float(), nullable=False),
        sa.Column("planned_minutes", sa.Integer(), nullable=False),
        sa.Column("max_load", sa.Integer(), nullable=False),
        sa.Column("depart_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("latest_start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("block_type", sa.Text(), nullable=False),
        sa.Column("block_minutes", sa.Integer(), nullable=False),
        sa.Column("hourly_floor_cents", sa.Integer(), nullable=False),
        sa.Column("base_pay_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("driver_id", sa.Uuid(), nullable=True),
        sa.Column("offer_id", sa.Uuid(), nullable=True),
        sa.Column("pay_cents", sa.Integer(), nullable=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("route_id", name=op.f("pk_routes")),
    )
    op.create_index("ix_routes_mall_status", "routes", ["mall_id", "status"], unique=False)
    op.create_table(
        "shipments",
        sa.Column("shipment_id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("mall_id", sa.Text(), nullable=False),
        sa.Column("mall_name", sa.Text(), nullable=False),
        sa.Column("store_id", sa.Text(), nullable=False),
        sa.Column("store_name", sa.Text(), nullable=False),
        sa.Column("pickup_instructions", sa.Text(), nullable=False),
        sa.Column("pickup_lat", sa.Float(), nullable=False),
        sa.Column("pickup_lng", sa.Float(), nullable=False),
        sa.Column("package_count", sa.Integer(), nullable=False),
        sa.Column("labels", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("ready_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deliver_by", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dropoff_lat", sa.Float(), nullable=False),
        sa.Column("dropoff_lng", sa.Float(), nullable=False),
        sa.Column("dropoff_address", sa.Text(), nullable=False),
        sa.Column("dropoff_area", sa.Text(), nullable=False),
        sa.Column("pin_sha256", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("route_id", sa.Uuid(), nullable=True),
        sa.Column("at_risk_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("shipment_id", name=op.f("pk_shipments")),
    )
    op.create_index("ix_shipments_mall_status", "shipments", ["mall_id", "status"], unique=False)
    op.create_index("ix_shipments_order_id", "shipments", ["order_id"], unique=False)
    op.create_table(
        "offers",
        sa.Column("offer_id", sa.Uuid(), nullable=False),
        sa.Column("route_id", sa.Uuid(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("pay_cents", sa.Integer(), nullable=False),
        sa.Column("hourly_floor_cents", sa.Integer(), nullable=False),
        sa.Column("surge_level", sa.Integer(), nullable=False),
        sa.Column("radius_m", sa.Float(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["route_id"], ["routes.route_id"], name=op.f("fk_offers_route_id_routes")
        ),
        sa.PrimaryKeyConstraint("offer_id", name=op.f("pk_offers")),
    )
    op.create_index("ix_offers_route_id", "offers", ["route_id"], unique=False)
    op.create_index("ix_offers_status_expires_at", "offers", ["status", "expires_at"], unique=False)
    op.create_table(
        "offer_views",
        sa.Column("offer_id", sa.Uuid(), nullable=False),
        sa.Column("driver_id", sa.Uuid(), nullable=False),
        sa.Column("route_id", sa.Uuid(), nullable=False),
        sa.Column("shown_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("pay_cents", sa.Integer(), nullable=False),
        sa.Column("distance_m", sa.Float(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["offer_id"], ["offers.offer_id"], name=op.f("fk_offer_views_offer_id_offers")
        ),
        sa.PrimaryKeyConstraint("offer_id", "driver_id", name=op.f("pk_offer_views")),
    )
    op.create_index(
        "ix_offer_views_driver_id_answer", "offer_views", ["driver_id", "answer"], unique=False
    )
    op.create_index("ix_offer_views_route_id", "offer_views", ["route_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_offer_views_route_id", table_name="offer_views")
    op.drop_index("ix_offer_views_driver_id_answer", table_name="offer_views")
    op.drop_table("offer_views")
    op.drop_index("ix_offers_status_expires_at", table_name="offers")
    op.drop_index("ix_offers_route_id", table_name="offers")
    op.drop_table("offers")
    op.drop_index("ix_shipments_order_id", table_name="shipments")
    op.drop_index("ix_shipments_mall_status", table_name="shipments")
    op.drop_table("shipments")
    op.drop_index("ix_routes_mall_status", table_name="routes")
    op.drop_table("routes")
    op.drop_table("mall_states")
    op.drop_table("drivers")
