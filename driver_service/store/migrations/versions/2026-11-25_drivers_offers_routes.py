"""drivers offers routes

Revision ID: driver_0002
Revises: driver_0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "driver_0002"
down_revision: str | None = "driver_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "drivers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("phone", sa.Text(), nullable=False),
        sa.Column("vehicle_type", sa.Text(), nullable=False),
        sa.Column("capacity_packages", sa.Integer(), nullable=False),
        sa.Column("is_online", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lng", sa.Float(), nullable=True),
        sa.Column("location_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drivers")),
        sa.UniqueConstraint("phone", name=op.f("uq_drivers_phone")),
    )
    op.create_table(
        "offers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("route_id", sa.Uuid(), nullable=False),
        sa.Column("mall_id", sa.Text(), nullable=False),
        sa.Column("mall_name", sa.Text(), nullable=False),
        sa.Column("pay_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("hourly_floor_cents", sa.Integer(), nullable=False),
        sa.Column("block_minutes", sa.Integer(), nullable=False),
        sa.Column("expected_miles", sa.Float(), nullable=False),
        sa.Column("stop_count", sa.Integer(), nullable=False),
        sa.Column("pickup_area", sa.Text(), nullable=False),
        sa.Column("stops", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("accepted_by", sa.Uuid(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offers")),
    )
    op.create_index(
        "ix_offers_open", "offers", ["expires_at"], unique=False, postgresql_where="status = 'open'"
    )
    op.create_index(op.f("ix_offers_route_id"), "offers", ["route_id"], unique=False)
    op.create_table(
        "photos",
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("content_type", sa.Text(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_photos")),
    )
    op.create_table(
        "blocks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("driver_id", sa.Uuid(), nullable=False),
        sa.Column("mall_id", sa.Text(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["driver_id"], ["drivers.id"], name=op.f("fk_blocks_driver_id_drivers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_blocks")),
    )
    op.create_index(op.f("ix_blocks_driver_id"), "blocks", ["driver_id"], unique=False)
    op.create_table(
        "offer_drivers",
        sa.Column("offer_id", sa.Uuid(), nullable=False),
        sa.Column("driver_id", sa.Uuid(), nullable=False),
        sa.Column("declined_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["offer_id"], ["offers.id"], name=op.f("fk_offer_drivers_offer_id_offers")
        ),
        sa.PrimaryKeyConstraint("offer_id", "driver_id", name=op.f("pk_offer_drivers")),
    )
    op.create_index(
        op.f("ix_offer_drivers_driver_id"), "offer_drivers", ["driver_id"], unique=False
    )
    op.create_table(
        "refresh_tokens",
        sa.Column("jti", sa.Uuid(), nullable=False),
        sa.Column("driver_id", sa.Uuid(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["driver_id"], ["drivers.id"], name=op.f("fk_refresh_tokens_driver_id_drivers")
        ),
        sa.PrimaryKeyConstraint("jti", name=op.f("pk_refresh_tokens")),
    )
    op.create_index(
        op.f("ix_refresh_tokens_driver_id"), "refresh_tokens", ["driver_id"], unique=False
    )
    op.create_table(
        "routes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("offer_id", sa.Uuid(), nullable=False),
        sa.Column("driver_id", sa.Uuid(), nullable=False),
        sa.Column("mall_id", sa.Text(), nullable=False),
        sa.Column("pay_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("hourly_floor_cents", sa.Integer(), nullable=False),
        sa.Column("block_minutes", sa.Integer(), nullable=False),
        sa.Column("tip_cents", sa.Integer(), server_default="0", nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["driver_id"], ["drivers.id"], name=op.f("fk_routes_driver_id_drivers")
        ),
        sa.ForeignKeyConstraint(
            ["offer_id"], ["offers.id"], name=op.f("fk_routes_offer_id_offers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routes")),
        sa.UniqueConstraint("offer_id", name=op.f("uq_routes_offer_id")),
    )
    op.create_index(op.f("ix_routes_driver_id"), "routes", ["driver_id"], unique=False)
    op.create_table(
        "route_stops",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("route_id", sa.Uuid(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("shipment_id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("store_id", sa.Text(), nullable=False),
        sa.Column("store_name", sa.Text(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lng", sa.Float(), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("area", sa.Text(), nullable=False),
        sa.Column("instructions", sa.Text(), nullable=False),
        sa.Column("labels", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("package_count", sa.Integer(), nullable=False),
        sa.Column("eta", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deliver_by", sa.DateTime(timezone=True), nullable=False),
        sa.Column("pin_sha256", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("picked_labels", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("missing_labels", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("arrived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fail_reason", sa.Text(), nullable=True),
        sa.Column("proof_photo_sha256", sa.Text(), nullable=True),
        sa.Column("wait_pay_cents", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["route_id"], ["routes.id"], name=op.f("fk_route_stops_route_id_routes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_route_stops")),
    )
    op.create_index(op.f("ix_route_stops_route_id"), "route_stops", ["route_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_route_stops_route_id"), table_name="route_stops")
    op.drop_table("route_stops")
    op.drop_index(op.f("ix_routes_driver_id"), table_name="routes")
    op.drop_table("routes")
    op.drop_index(op.f("ix_refresh_tokens_driver_id"), table_name="refresh_tokens")
    op.drop_table("refresh_tokens")
    op.drop_index(op.f("ix_offer_drivers_driver_id"), table_name="offer_drivers")
    op.drop_table("offer_drivers")
    op.drop_index(op.f("ix_blocks_driver_id"), table_name="blocks")
    op.drop_table("blocks")
    op.drop_table("photos")
    op.drop_index(op.f("ix_offers_route_id"), table_name="offers")
    op.drop_index("ix_offers_open", table_name="offers", postgresql_where="status = 'open'")
    op.drop_table("offers")
    op.drop_table("drivers")
