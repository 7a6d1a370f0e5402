"""returns, restock and tips

Revision ID: order_0003
Revises: order_0002
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "order_0003"
down_revision: str | None = "order_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("orders", sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "orders", sa.Column("tip_cents", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column("orders", sa.Column("tipped_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "shipments",
        sa.Column("missing_labels", sa.JSON(), server_default="[]", nullable=False),
    )
    op.add_column(
        "shipments", sa.Column("packed", sa.JSON(), server_default="{}", nullable=False)
    )
    op.add_column(
        "shipments", sa.Column("restocked_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("shipments", "restocked_at")
    op.drop_column("shipments", "packed")
    op.drop_column("shipments", "missing_labels")
    op.drop_column("orders", "tipped_at")
    op.drop_column("orders", "tip_cents")
    op.drop_column("orders", "delivered_at")
