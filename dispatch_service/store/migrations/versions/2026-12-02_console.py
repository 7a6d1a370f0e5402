"""operator console: read models, audit log, dead letters, operator pause

Revision ID: dispatch_0005
Revises: dispatch_0004
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "dispatch_0005"
down_revision: str | None = "dispatch_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "mall_states",
        sa.Column("is_paused", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column("mall_states", sa.Column("paused_at", sa.DateTime(timezone=True)))
    op.add_column("mall_states", sa.Column("paused_by", sa.Text()))
    op.create_table(
        "stores",
        sa.Column("store_id", sa.Text(), nullable=False),
        sa.Column("mall_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lng", sa.Float(), nullable=False),
        sa.Column("prep_minutes", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("store_id", name=op.f("pk_stores")),
    )
    op.create_index("ix_stores_mall_id", "stores", ["mall_id"])
    op.create_table(
        "shipment_progress",
        sa.Column("shipment_id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("mall_id", sa.Text(), nullable=False),
        sa.Column("store_id", sa.Text()),
        sa.Column("deliver_by", sa.DateTime(timezone=True)),
        sa.Column("placed_at", sa.DateTime(timezone=True)),
        sa.Column("accepted_at", sa.DateTime(timezone=True)),
        sa.Column("ready_at", sa.DateTime(timezone=True)),
        sa.Column("picked_up_at", sa.DateTime(timezone=True)),
        sa.Column("delivered_at", sa.DateTime(timezone=True)),
        sa.Column("failed_at", sa.DateTime(timezone=True)),
        sa.Column("failure_reason", sa.Text()),
        sa.Column("returned_at", sa.DateTime(timezone=True)),
        sa.Column("cancelled_at", sa.DateTime(timezone=True)),
        sa.Column("route_id", sa.Uuid()),
        sa.Column("driver_id", sa.Uuid()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("shipment_id", name=op.f("pk_shipment_progress")),
    )
    op.create_index(
        "ix_shipment_progress_mall_id_placed_at", "shipment_progress", ["mall_id", "placed_at"]
    )
    op.create_index("ix_shipment_progress_route_id", "shipment_progress", ["route_id"])
    op.create_table(
        "operator_actions",
        sa.Column("action_id", sa.Uuid(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("operator", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("mall_id", sa.Text()),
        sa.Column("target_id", sa.Text()),
        sa.Column("detail", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("action_id", name=op.f("pk_operator_actions")),
    )
    op.create_index("ix_operator_actions_mall_id_at", "operator_actions", ["mall_id", "at"])
    op.create_table(
        "dead_letters",
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("partition_no", sa.Integer(), nullable=False),
        sa.Column("message_offset", sa.BigInteger(), nullable=False),
        sa.Column("original_topic", sa.Text(), nullable=False),
        sa.Column("event_type", sa.Text()),
        sa.Column("mall_id", sa.Text()),
        sa.Column("consumer", sa.Text()),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "topic", "partition_no", "message_offset", name=op.f("pk_dead_letters")
        ),
    )
    op.create_index("ix_dead_letters_received_at", "dead_letters", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_dead_letters_received_at", table_name="dead_letters")
    op.drop_table("dead_letters")
    op.drop_index("ix_operator_actions_mall_id_at", table_name="operator_actions")
    op.drop_table("operator_actions")
    op.drop_index("ix_shipment_progress_route_id", table_name="shipment_progress")
    op.drop_index("ix_shipment_progress_mall_id_placed_at", table_name="shipment_progress")
    op.drop_table("shipment_progress")
    op.drop_index("ix_stores_mall_id", table_name="stores")
    op.drop_table("stores")
    op.drop_column("mall_states", "paused_by")
    op.drop_column("mall_states", "paused_at")
    op.drop_column("mall_states", "is_paused")
