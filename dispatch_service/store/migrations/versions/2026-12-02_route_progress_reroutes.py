"""route progress and re-route links

Revision ID: dispatch_0004
Revises: dispatch_0003
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "dispatch_0004"
down_revision: str | None = "dispatch_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "routes",
        sa.Column("progress", postgresql.JSONB(), server_default="{}", nullable=False),
    )
    op.add_column("routes", sa.Column("revision", sa.Integer(), server_default="0", nullable=False))
    op.add_column("routes", sa.Column("released_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("routes", sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "reroutes",
        sa.Column("to_shipment_id", sa.Uuid(), nullable=False),
        sa.Column("route_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("to_shipment_id", name=op.f("pk_reroutes")),
    )
    op.create_index(op.f("ix_reroutes_route_id"), "reroutes", ["route_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_reroutes_route_id"), table_name="reroutes")
    op.drop_table("reroutes")
    op.drop_column("routes", "completed_at")
    op.drop_column("routes", "released_at")
    op.drop_column("routes", "revision")
    op.drop_column("routes", "progress")
