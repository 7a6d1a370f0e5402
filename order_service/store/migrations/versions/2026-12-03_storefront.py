"""storefront: webhook endpoints, one delivery queue for stores and storefront, tracking tokens,
delivery windows, quotes, the fleet's capacity per mall

Revision ID: order_storefront
Revises: order_0003
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "order_storefront"
down_revision: str | None = "order_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = (
    "status NOT IN ('delivered', 'cancelled', 'returned_to_store', 'delivery_failed', 'returning')"
)


def upgrade() -> None:
    op.add_column("orders", sa.Column("tracking_token", sa.Text(), nullable=True))
    op.add_column(
        "orders", sa.Column("window_starts_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "orders",
        sa.Column("delivery_fee_cents", sa.Integer(), server_default="0", nullable=False),
    )
    op.create_index("ix_orders_tracking_token", "orders", ["tracking_token"], unique=True)
    op.create_index(
        "ix_orders_open_by_mall", "orders", ["mall_id", "deliver_by"], postgresql_where=OPEN
    )
    op.add_column("shipments", sa.Column("dropoff_eta", sa.DateTime(timezone=True)))
    op.add_column("shipments", sa.Column("delivered_at", sa.DateTime(timezone=True)))
    op.add_column("shipments", sa.Column("proof_photo_sha256", sa.Text()))

    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("event_types", sa.JSON(), nullable=True),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("is_enabled", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoints")),
    )
    op.create_table(
        "webhook_endpoint_secrets",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("endpoint_id", sa.Uuid(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["webhook_endpoints.id"],
            name=op.f("fk_webhook_endpoint_secrets_endpoint_id_webhook_endpoints"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoint_secrets")),
    )
    op.create_index(
        "ix_webhook_endpoint_secrets_endpoint_id", "webhook_endpoint_secrets", ["endpoint_id"]
    )

    # The POS queue becomes everyone's: its rows are a store's.
    op.alter_column("webhook_deliveries", "store_id", new_column_name="recipient_id")
    op.add_column(
        "webhook_deliveries",
        sa.Column("recipient_kind", sa.Text(), server_default="store", nullable=False),
    )
    op.add_column("webhook_deliveries", sa.Column("order_key", sa.Text(), nullable=True))
    op.add_column(
        "webhook_deliveries",
        sa.Column("seq", sa.BigInteger(), sa.Identity(), nullable=False),
    )
    op.add_column("webhook_deliveries", sa.Column("retry_until", sa.DateTime(timezone=True)))
    op.add_column("webhook_deliveries", sa.Column("failed_at", sa.DateTime(timezone=True)))
    op.add_column("webhook_deliveries", sa.Column("last_status_code", sa.Integer()))
    op.add_column("webhook_deliveries", sa.Column("last_error", sa.Text()))
    op.create_index(
        "ix_webhook_deliveries_order_line",
        "webhook_deliveries",
        ["recipient_kind", "recipient_id", "order_key", "seq"],
        postgresql_where="status = 'pending'",
    )
    op.create_index(
        "ix_webhook_deliveries_recipient",
        "webhook_deliveries",
        ["recipient_kind", "recipient_id", "created_at"],
    )
    op.add_column("webhook_attempts", sa.Column("duration_ms", sa.Integer()))

    op.create_table(
        "quotes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("mall_id", sa.Text(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lng", sa.Float(), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("windows", sa.JSON(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quotes")),
    )
    op.create_table(
        "mall_capacity",
        sa.Column("mall_id", sa.Text(), nullable=False),
        sa.Column("orders_per_hour", sa.Float(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("mall_id", name=op.f("pk_mall_capacity")),
    )


def downgrade() -> None:
    op.drop_table("mall_capacity")
    op.drop_table("quotes")
    op.drop_column("webhook_attempts", "duration_ms")
    op.drop_index("ix_webhook_deliveries_recipient", table_name="webhook_deliveries")
    op.drop_index(
        "ix_webhook_deliveries_order_line",
        table_name="webhook_deliveries",
        postgresql_where="status = 'pending'",
    )
    for column in (
        "last_error",
        "last_status_code",
        "failed_at",
        "retry_until",
        "seq",
        "order_key",
        "recipient_kind",
    ):
        op.drop_column("webhook_deliveries", column)
    op.alter_column("webhook_deliveries", "recipient_id", new_column_name="store_id")
    op.drop_index("ix_webhook_endpoint_secrets_endpoint_id", "webhook_endpoint_secrets")
    op.drop_table("webhook_endpoint_secrets")
    op.drop_table("webhook_endpoints")
    op.drop_column("shipments", "proof_photo_sha256")
    op.drop_column("shipments", "delivered_at")
    op.drop_column("shipments", "dropoff_eta")
    op.drop_index("ix_orders_open_by_mall", table_name="orders", postgresql_where=OPEN)
    op.drop_index("ix_orders_tracking_token", table_name="orders")
    op.drop_column("orders", "delivery_fee_cents")
    op.drop_column("orders", "window_starts_at")
    op.drop_column("orders", "tracking_token")
